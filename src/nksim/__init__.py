"""nksim: an open, fast, honest in-silico laboratory for NK-cell therapy.

Research use only. nksim simulates; it does not advise patients.
"""

import os as _os

__version__ = "0.1.0"

# numba builds an error message for every typing template that does not match while it
# compiles (nksim never shows them); without colouring that is ~0.1 s less of a model's
# first run (nksim.model._typing_memo). A value the user set is kept.
_os.environ.setdefault("NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING", "1")
