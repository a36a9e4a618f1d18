"""DeltaTrace: the event graph of what an execution pipeline did, and the Django project around it."""

__version__ = "0.1.0"
