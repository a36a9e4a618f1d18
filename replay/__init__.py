from deltatrace.accel import honour_pure_python

honour_pure_python(__path__[0])  # before any compiled core below is imported (deltatrace/accel.py)
