"""Faster numba typing of generated model code (issue 13 §3: the first run of a model).

numba types every operation of a function on its own: for ``a*b`` on two float64 it tries
the templates registered for ``operator.mul`` one by one (integers, complex, timedelta,
NumPy ufunc rules, ...) until one matches, building an error message for each that does
not, and it does so again at the next ``a*b``. A generated right-hand side and Jacobian
are hundreds of such operations on a handful of argument types, so about a fifth of
compiling W1's six functions went into finding the same few signatures again and again.

:func:`typing_memo` remembers, while the generated module is compiled, the signature
numba found for each builtin function or operator and each tuple of scalar or array
argument types, and returns it at the next call site with the same types. It changes
nothing numba decides (the first resolution of each pair is numba's own, and the
remembered ones are what the same resolution returns again: those templates depend on
the types alone), so the compiled code is the same; it only skips the repeats. It is
installed while holding numba's compiler lock (no other thread compiles meanwhile) and
removed afterwards.

Numba's error-message colouring (``NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING``, set by
:mod:`nksim` unless the user set it) is off for the same reason: numba formats a message
for every template that does not match, and the colouring alone cost ~0.1 s of a first run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from numba.core import types
from numba.core.compiler_lock import global_compiler_lock
from numba.core.types.functions import BaseFunction

# argument types whose resolution depends on the types alone (scalars, literal integers,
# arrays); anything else (functions, dispatchers, tuples, ...) takes numba's own path
_PLAIN = (types.Number, types.Boolean, types.Array)


@contextmanager
def typing_memo() -> Iterator[dict]:
    """Within the block, repeated resolutions of a builtin function or operator for the
    same plain argument types return numba's first answer (see the module docstring).
    Yields the memo (for tests)."""
    memo: dict = {}
    with global_compiler_lock:
        original = BaseFunction.get_call_type

        def get_call_type(self, context, args, kws):
            if kws or not all(isinstance(a, _PLAIN) for a in args):
                return original(self, context, args, kws)
            key = (self, context, args)
            sig = memo.get(key)
            if sig is None:
                sig = memo[key] = original(self, context, args, kws)
            return sig

        BaseFunction.get_call_type = get_call_type
        try:
            yield memo
        finally:
            BaseFunction.get_call_type = original
