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

**Compiled in a child process.** The compile runs in a child process (``nnfast compile``'s
calls), and the worker then loads the kernels from the cache like every later process:
a process that compiled the kernels itself can compute differently from one that loaded
them (measured: float32 Adam, the last bits of the cost), and a sweep's numbers must not
depend on which worker happened to compile. The child records in the cache folder what
it compiled, for which kernel sources and CPU (``RECORD_NAME``): the workers that waited
for it, and later ones, load at once instead of starting a child of their own.
"""

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import numba

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
    """One dtype's precompile on one worker: the seconds the child process took and
    whether it compiled (else it found everything in the cache), the seconds it first
    waited for another process's compile, and the seconds this process then took to load
    the kernels from the cache."""

    dtype: str
    seconds: float  # 0.0: no child, the record said the cache has them
    compiled: bool
    waited: float
    loaded: float


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
    folders = _cache.cache_folders() if folders is None else folders
    with contextlib.ExitStack() as stack:
        for folder in sorted(folders) if fcntl is not None else ():
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


#: The child's program: ``_precompile.precompile`` per dtype (``nnfast compile``'s calls),
#: printed as JSON.
_CHILD = ("import json, sys; from nnfast import _precompile; "
          "print(json.dumps([_precompile.precompile(d) for d in sys.argv[1:]]))")
#: The record, in each cache folder, of the dtypes a child compiled there, and for what.
RECORD_NAME = "nnfast-compiled.json"


def _build():
    """What a cache's code depends on besides the dtype: nnfast's kernel sources (the
    stamp of ``_cache``), Numba's version and its key of this CPU (name and features)."""
    from numba.core.registry import cpu_target

    return {"sources": _cache.source_stamp(), "numba": numba.__version__,
            "cpu": list(cpu_target.target_context.codegen().magic_tuple())}


def _recorded(folders, build):
    """The dtypes that every folder's record says a child compiled for ``build``."""
    found = None
    for folder in folders:
        try:
            record = json.loads((folder / RECORD_NAME).read_text())
        except (OSError, ValueError):  # none yet, or not ours
            return set()
        dtypes = set(record.get("dtypes", ())) if record.get("build") == build else set()
        found = dtypes if found is None else found & dtypes
    return found or set()


def _record(folders, build, dtypes):
    for folder in folders:
        partial = folder / f"{RECORD_NAME}.{os.getpid()}"  # whole, then renamed: never half read
        partial.write_text(json.dumps({"build": build, "dtypes": sorted(dtypes)}))
        os.replace(partial, folder / RECORD_NAME)


def precompile(dtypes=_precompile.DTYPES):
    """Under ``compile_lock``: unless the cache folders' record says a child process
    compiled ``dtypes`` for these sources and this CPU already, compile them in a child
    (or find them in the cache) and record it. Then load them into this process from the
    cache. The tuple of ``Precompiled``, also appended to this process's ``history()``."""
    folders, build = _cache.cache_folders(), _build()
    # The child imports the nnfast this process runs, wherever sys.path found it.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    with compile_lock(folders) as waited:
        recorded = _recorded(folders, build)
        if set(dtypes) <= recorded:
            by_child = [(0.0, False)] * len(dtypes)
        else:
            # Its standard error is the worker's: nnfast's "compiling ..." lines show there
            # (on the terminal of --local), and so does the traceback of a failure.
            child = subprocess.run([sys.executable, "-c", _CHILD, *dtypes], stdout=subprocess.PIPE, text=True,
                                   env=env)
            if child.returncode:
                raise RuntimeError(f"compiling nnfast's kernels in a child process failed (exit status "
                                   f"{child.returncode}); its messages are on the worker's standard error")
            by_child = json.loads(child.stdout.splitlines()[-1])
            _record(folders, build, recorded | set(dtypes))
    done = []
    for dtype, (seconds, compiled) in zip(dtypes, by_child):
        loaded, here = _precompile.precompile(dtype)  # here: the cache lacked some after all
        done.append(Precompiled(dtype, seconds, compiled or here, waited, loaded))
    _HISTORY.append(tuple(done))
    return tuple(done)


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
def environment_kept():
    """Within the block anything may change ``os.environ``; on leaving it is as it was.
    A nanny writes its workers' limits (``OMP_NUM_THREADS=1``, ``MKL_NUM_THREADS=1``, ...:
    Dask's ``distributed.nanny.pre-spawn-environ``) into this process's environment for
    them to inherit, and leaves them there: every program this process started later
    would run on one thread."""
    before = dict(os.environ)
    try:
        yield
    finally:
        for key in set(os.environ) | set(before):
            if key not in before:
                del os.environ[key]
            elif os.environ.get(key) != before[key]:
                os.environ[key] = before[key]


@contextlib.contextmanager
def connect(scheduler=None, local=None):
    """A ``Client`` of the cluster at ``scheduler`` (an address), or of a new
    ``LocalCluster`` of ``local`` worker processes with one thread each on the loopback
    interface (its HTTP server, the dashboard where bokeh is installed, on a free port
    rather than on 8787, which another cluster may hold), closed on leaving, this process's
    environment restored (``environment_kept``). Raises OSError when the scheduler cannot
    be reached."""
    if (scheduler is None) == (local is None):
        raise ValueError(f"give scheduler or local, not both or neither; got scheduler={scheduler!r}, "
                         f"local={local!r}")
    if local is not None:
        with environment_kept(), LocalCluster(n_workers=local, threads_per_worker=1, processes=True,
                                              host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster, \
                Client(cluster) as client:
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
    """One line about ``prepare_workers``' report: how many workers and, per dtype, where
    the kernels were compiled and how long the others waited for it."""
    parts = []
    for dtype in dict.fromkeys(p.dtype for calls in report.values() for p in calls):
        runs = [p for calls in report.values() for p in calls if p.dtype == dtype]
        compiled = [p for p in runs if p.compiled]
        found = [p for p in runs if not p.compiled]
        text = f"{dtype} kernels"
        if compiled:
            text += f" compiled on {len(compiled)} ({max(p.seconds for p in compiled):.1f} s)"
        if found:
            text += f"{',' if compiled else ''} found in the cache on {len(found)}"
            waited = max(p.waited for p in found)
            if waited >= 0.05:
                text += f" (after waiting up to {waited:.1f} s for the compile lock)"
        parts.append(text + f", loaded in at most {max(p.loaded for p in runs):.1f} s")
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
