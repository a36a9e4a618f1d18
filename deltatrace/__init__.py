"""DeltaTrace: the event graph of what an execution pipeline did, and the Django project around it."""

from deltatrace.accel import honour_pure_python

__version__ = "0.1.0"

honour_pure_python(__path__[0])  # before any compiled core below is imported (deltatrace/accel.py)
