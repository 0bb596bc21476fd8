"""Where Numba caches nnfast's compiled kernels, and why a cache left by other sources is
never used.

Numba picks the folder per source file, the first of these it can write to:
``$NUMBA_CACHE_DIR/<dir>_<hash of the path>``; ``__pycache__`` beside the source
(a clone, a writable site-packages); the user's cache folder
(``~/.cache/numba/<dir>_<hash>`` on Linux: a read-only site-packages). Every kernel of
``nnfast._kernels`` lives in one folder, so they share one cache folder.

Numba checks a cached function against its *own* source file only (its content in Numba
0.68, its size and time stamp in older versions): a changed callee in another file — an
upgrade that changes ``_kernels/mathfast.py`` but not ``_kernels/loop.py``, or new
compile options in ``_config.py`` — would leave the old machine code of every caller in
use. So nnfast keeps a stamp in the folder, the SHA-256 of all those source files, and
``discard_stale`` (run at import, before any kernel is called) empties a folder whose
stamp is missing or differs: its index and data files are removed and the next call
compiles again. A cache that matches is left alone.
"""

import hashlib
import os
import sys
from pathlib import Path

from numba.core.dispatcher import Dispatcher

#: The stamp's file name inside the cache folder.
STAMP_NAME = "nnfast-sources.sha256"

_PACKAGE = Path(__file__).resolve().parent
_KERNELS = __package__ + "._kernels"


def unwritable_error(error):
    """The ImportError to raise for Numba's RuntimeError ``error`` when it found no
    folder it can write to for a kernel's cache (``error`` itself when it is another)."""
    if "no locator available" not in str(error):
        return error
    given = os.environ.get("NUMBA_CACHE_DIR")
    return ImportError(
        f"nnfast: Numba can cache the compiled kernels nowhere: {_PACKAGE / '_kernels' / '__pycache__'} and "
        f"the user's cache folder (~/.cache/numba on Linux) are not writable, and NUMBA_CACHE_DIR "
        f"{'is not set' if not given else f'= {given} is not writable either'}; set NUMBA_CACHE_DIR to a "
        f"writable folder ({error})")


def kernel_dispatchers():
    """Every compiled function of the imported ``nnfast._kernels`` modules."""
    found = {}
    for name, module in list(sys.modules.items()):
        if module is not None and (name == _KERNELS or name.startswith(_KERNELS + ".")):
            for value in vars(module).values():
                if isinstance(value, Dispatcher):
                    found[id(value)] = value
    return list(found.values())


def cache_folders():
    """The folders Numba caches nnfast's kernels in (one, unless a kernel module lives
    elsewhere), as ``Path`` objects, sorted."""
    return sorted({Path(d.stats.cache_path) for d in kernel_dispatchers()})


def source_files():
    """The files whose content decides the compiled code: every kernel module and the
    compile options."""
    return sorted((_PACKAGE / "_kernels").glob("*.py")) + [_PACKAGE / "_config.py"]


def source_stamp():
    """The SHA-256 (hex) of ``source_files()``, names and contents."""
    digest = hashlib.sha256()
    for path in source_files():
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def discard_stale(folders=None):
    """Empty every cache folder (default ``cache_folders()``) whose stamp is not the
    current ``source_stamp()``, then write the stamp. Returns the folders emptied."""
    stamp = source_stamp()
    emptied = []
    for folder in cache_folders() if folders is None else folders:
        stamp_file = folder / STAMP_NAME
        try:
            if stamp_file.read_text().strip() == stamp:
                continue
        except FileNotFoundError:
            pass
        for entry in folder.iterdir():
            if entry.suffix in (".nbi", ".nbc"):
                # Another process may be emptying the same folder.
                entry.unlink(missing_ok=True)
        # Written whole under another name, then renamed: a process reading it at the
        # same time sees the old stamp or the new one, never half of one.
        partial = folder / f"{STAMP_NAME}.{os.getpid()}"
        partial.write_text(stamp + "\n")
        os.replace(partial, stamp_file)
        emptied.append(folder)
    return emptied
