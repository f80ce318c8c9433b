"""NK-cell biology: how an NK cell decides, kills and patrols, and how tumours escape.

Rate laws and small models that disease settings and therapies reuse (``docs/nk-biology.md``).
Public names are re-exported below, one block per module.
"""
