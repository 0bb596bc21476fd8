"""nnfast on a Dask cluster: workers that compile the kernels once per machine, and the
sweep's tasks. Needs the ``dask`` extra (``pip install "nnfast[dask]"``).

**Compiling once.** ``PrecompilePlugin`` is a worker plugin that runs what ``nnfast
compile`` does (``nnfast._precompile``) when a worker starts, or at once on the workers
already running when it is registered (``nnfast sweep`` registers it, and its
registration returns when every worker is done). For a cluster started by hand, the same
runs as a preload: ``dask worker tcp://SCHEDULER:8786 --preload nnfast.cluster``.
Either way it runs on a thread of its own, so the worker keeps answering the scheduler
meanwhile, and a worker added later runs it before its first task.

**One compile per cache folder.** Numba writes each cache file whole (to a temporary
name, then renamed), but a function's index (its ``.nbi``: signature -> data file) is read,
extended and written back: two processes compiling different signatures of one function
at once can lose each other's entries, or pair one's entry with the other's machine code
(numba/numba#4807, segmentation faults from a cache built by parallel Dask workers). And
two workers compiling the same kernels cold spend twice the CPU for nothing. So the
precompile holds an exclusive ``flock`` on a file in each cache folder: the first worker
of a machine compiles, the others wait, then load what it wrote (0.4 s). Where the
folder is shared between machines (``NUMBA_CACHE_DIR`` on NFS, which supports flock
through its lock manager) the lock is shared too. Without ``fcntl`` (Windows) there is no
lock.
"""

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

try:
    from distributed import Client, LocalCluster, WorkerPlugin, as_completed, get_worker
except ImportError as exc:  # raised as an ImportError that says what to install
    raise ImportError('nnfast.cluster needs Dask\'s distributed scheduler: pip install "nnfast[dask]" '
                      f'(it installs dask[distributed]); {exc}') from exc

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

from . import _cache, _precompile

#: The worker plugin's name: registering it again replaces it (one per worker).
PLUGIN_NAME = "nnfast-precompile"
#: The lock file's name inside a cache folder.
LOCK_NAME = "nnfast-compile.lock"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Precompiled:
    """One dtype's precompile in one process: the seconds it took, whether it compiled
    (else it loaded the cache), and the seconds it first waited for another process's."""

    dtype: str
    seconds: float
    compiled: bool
    waited: float


#: This process's precompiles, one tuple of ``Precompiled`` per call (see ``history``).
_HISTORY = []


def history():
    """This process's precompiles so far (run on every worker by ``prepare_workers``)."""
    return list(_HISTORY)


@contextlib.contextmanager
def compile_lock(folders=None):
    """Hold an exclusive lock on ``LOCK_NAME`` in each cache folder (default: nnfast's,
    ``_cache.cache_folders()``), in sorted order; yields the seconds spent waiting."""
    waited = 0.0
    with contextlib.ExitStack() as stack:
        for folder in sorted(_cache.cache_folders() if folders is None else folders):
            if fcntl is None:
                break
            f = stack.enter_context(open(folder / LOCK_NAME, "a"))
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("waiting for another process's compile into %s", folder)
                start = time.perf_counter()
                fcntl.flock(f, fcntl.LOCK_EX)
                waited += time.perf_counter() - start
            # Closing the file (ExitStack, last in first out) releases its lock.
        yield waited


def precompile(dtypes=_precompile.DTYPES):
    """``nnfast compile`` for ``dtypes`` under ``compile_lock``; the tuple of
    ``Precompiled``, also appended to this process's ``history()``."""
    with compile_lock() as waited:
        done = tuple(Precompiled(dtype, *_precompile.precompile(dtype), waited) for dtype in dtypes)
    _HISTORY.append(done)
    return done


class PrecompilePlugin(WorkerPlugin):
    """Precompile ``dtypes`` (default: both, as ``nnfast compile``) when a worker starts,
    on a thread of its own (see the module docstring)."""

    def __init__(self, dtypes=_precompile.DTYPES):
        unknown = [d for d in dtypes if d not in _precompile.DTYPES]
        if unknown or not dtypes:
            raise ValueError(f"dtypes must be some of {', '.join(_precompile.DTYPES)}; got {list(dtypes)!r}")
        self.dtypes = tuple(dtypes)

    async def setup(self, worker):
        await asyncio.to_thread(precompile, self.dtypes)


async def dask_setup(worker):
    """The preload (``dask worker ... --preload nnfast.cluster``): the plugin's work, for
    every dtype, before the worker joins the scheduler."""
    await PrecompilePlugin().setup(worker)


# ----------------------------------------------------------------------------------------
# The client's side


@contextlib.contextmanager
def connect(scheduler=None, local=None):
    """A ``Client`` of the cluster at ``scheduler`` (an address), or of a new
    ``LocalCluster`` of ``local`` worker processes with one thread each on the loopback
    interface (its HTTP server, the dashboard where bokeh is installed, on a free port
    rather than on 8787, which another cluster may hold), closed on leaving. Raises OSError
    when the scheduler cannot be reached."""
    if (scheduler is None) == (local is None):
        raise ValueError(f"give scheduler or local, not both or neither; got scheduler={scheduler!r}, "
                         f"local={local!r}")
    if local is not None:
        with LocalCluster(n_workers=local, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
            yield client
        return
    with Client(scheduler, timeout="10s") as client:
        yield client


def prepare_workers(client, dtypes, timeout=60):
    """Wait for a first worker (``timeout`` seconds), register ``PrecompilePlugin(dtypes)``
    (it returns when every worker has run it) and return each worker's latest
    precompile: ``{address: (Precompiled, ...)}``."""
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        raise TimeoutError(f"no worker joined the scheduler at {client.scheduler.address} in {timeout} s; start "
                           f"some with: dask worker {client.scheduler.address} --preload nnfast.cluster") from None
    client.register_plugin(PrecompilePlugin(dtypes), name=PLUGIN_NAME)
    return {address: calls[-1] for address, calls in client.run(history).items()}


def describe(report):
    """One line about ``prepare_workers``' report: how many workers, and per dtype where
    it compiled and how long the others waited for it."""
    parts = []
    for dtype in dict.fromkeys(p.dtype for calls in report.values() for p in calls):
        runs = [p for calls in report.values() for p in calls if p.dtype == dtype]
        compiled = [p for p in runs if p.compiled]
        loaded = [p for p in runs if not p.compiled]
        text = f"{dtype} kernels"
        if compiled:
            text += f" compiled on {len(compiled)} ({max(p.seconds for p in compiled):.1f} s)"
        if loaded:
            text += (f"{',' if compiled else ''} loaded from the cache on {len(loaded)} "
                     f"(at most {max(p.seconds for p in loaded):.1f} s")
            waited = max(p.waited for p in loaded)
            text += f", after waiting up to {waited:.1f} s for a compile)" if waited >= 0.05 else ")"
        parts.append(text)
    return f"{len(report)} worker(s); " + "; ".join(parts)


def _located(fn, *args):
    """``fn(*args)`` and the address of the worker that ran it."""
    return fn(*args), get_worker().address


def completed(client, fn, items, shared, priorities=None):
    """Yield ``(index, fn(items[index], shared), worker address)`` as each task finishes
    on ``client``'s cluster. ``shared`` is sent to every worker once (not once per task);
    higher ``priorities`` start first. A task's error is raised here; the tasks still
    running are cancelled when the loop ends or is left early."""
    # A key of its own (hash=False): under a content hash, the same data scattered by the
    # previous sweep on this client share the key, and that sweep's release of it can
    # reach the scheduler after this scatter ("lost dependencies"); nor is MNIST hashed.
    shared_future = client.scatter(shared, broadcast=True, hash=False)
    priorities = [0] * len(items) if priorities is None else priorities
    futures = {client.submit(_located, fn, item, shared_future, pure=False, priority=priority): index
               for index, (item, priority) in enumerate(zip(items, priorities))}
    try:
        for future in as_completed(futures):
            value, where = future.result()
            yield futures[future], value, where
    finally:
        client.cancel(list(futures))
