"""Say so on standard error when nnfast's kernels are being compiled, and nothing when
they are loaded from the cache.

A listener on Numba's ``"numba:compile"`` events (``numba.core.event``), installed at
import. Numba sends one only when a function really compiles: a signature it finds in
the cache sends none, so a warm process prints nothing. The first compile of an nnfast
kernel that no other nnfast compile encloses (``train_epochs`` for a training run,
``forward_pass`` for ``predict``; their callees compile inside it) prints one line
saying what is compiled, that it happens once, and where it is cached; a second line
when it is done, with the time. Each (function, dtype) is announced once per process.

The lines go to a display, ``nnfast.progress.CompileLines`` (printed on standard error)
unless ``shown_by(display)`` hands them to another for a while (the command line's
``nnfast.progress.CompileDisplay``, which also counts the seconds on a terminal).
"""

import contextlib
import time

from numba.core import event, types

from .progress import CompileLines

#: What an entry point's compile builds and how long it takes (2 cores, an empty cache),
#: as the announcement says them; ``OTHER`` for every other kernel, named.
WHAT = {"train_epochs": ("training kernels", "up to a minute"),
        "forward_pass": ("prediction kernels", "seconds")}
OTHER = ("kernel {name}", "seconds")

_KERNELS = __package__ + "._kernels"


def _is_ours(dispatcher):
    module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
    return module == _KERNELS or module.startswith(_KERNELS + ".")


def _dtype(arg_types):
    """The dtype of the first floating-point array argument (a kernel's data are of one
    dtype throughout; its index arrays are int64)."""
    for t in arg_types:
        if isinstance(t, types.Array) and isinstance(t.dtype, types.Float):
            return str(t.dtype)
    return "scalar"


class CompileAnnouncer(event.Listener):
    """The ``"numba:compile"`` listener (see the module docstring)."""

    def __init__(self):
        self.display = CompileLines()
        self.announced = set()
        self._depth = 0      # nnfast compiles under way (they nest, under Numba's compile lock)
        self._started = None  # perf_counter of the announced compile, while it runs

    def on_start(self, ev):
        dispatcher = ev.data["dispatcher"]
        if not _is_ours(dispatcher):
            return
        self._depth += 1
        if self._depth > 1:
            return
        name = dispatcher.py_func.__name__
        key = (name, _dtype(ev.data["args"]))
        if key in self.announced:
            return
        self.announced.add(key)
        self._started = time.perf_counter()
        what, how_long = WHAT.get(name, OTHER)
        self.display.start(f"nnfast: compiling the {key[1]} {what.format(name=name)} for this machine "
                           f"({how_long}, once: later runs load them from the cache in "
                           f"{dispatcher.stats.cache_path})")

    def on_end(self, ev):
        if not _is_ours(ev.data["dispatcher"]):
            return
        self._depth -= 1
        if self._depth == 0 and self._started is not None:
            seconds, self._started = time.perf_counter() - self._started, None
            self.display.end(f"nnfast: compiled in {seconds:.1f} s")


ANNOUNCER = CompileAnnouncer()


def install():
    """Register ``ANNOUNCER`` with Numba (``nnfast/__init__`` calls it, once)."""
    event.register("numba:compile", ANNOUNCER)


@contextlib.contextmanager
def shown_by(display):
    """Within the block, compile announcements go to ``display.start``/``display.end``."""
    before, ANNOUNCER.display = ANNOUNCER.display, display
    try:
        yield display
    finally:
        ANNOUNCER.display = before
