"""nksim: an open, fast, honest in-silico laboratory for NK-cell therapy.

Research use only. nksim simulates; it does not advise patients.
"""

__version__ = "0.1.0"
