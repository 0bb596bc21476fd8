"""How many threads the compiled kernels run on, decided in one place.

A call's count is, in order:

1. its ``threads=`` argument (``train``, ``gradients``, ``predict``, ``predict_proba``);
2. else ``NNFAST_NUM_THREADS`` (``_config.NUM_THREADS``);
3. else the smallest of: the CPUs this process may run on (its affinity mask: a
   container's or ``taskset``'s share, not the machine's count), every limit in
   ``_config.THREAD_LIMIT_VARS`` that is set (joblib/loky and Dask's nanny set them in
   their workers so that ``n_jobs`` processes share the cores instead of each starting
   one thread per core), and, inside a Dask worker, the worker's CPUs divided among its
   task threads.

Without ``threads=``, a count set with ``numba.set_num_threads`` on the calling thread
caps the default too, as it caps Numba's own parallel code (``nnfast compare`` and the
asv ratio of 2 threads over 1 set it) — but only once Numba's threading layer has been
started by someone else: the kernels never start it (their threads are nnfast's own, see
``nnfast._workers``), and asking Numba for its count would.

The environment is read once, at import, like the rest of ``_config``. The count only
caps the work split: ``compiled._n_chunks`` still runs small batches on one thread.

``api`` sets a call's count with ``using(threads)`` around the backend call;
``compiled`` reads it with ``current()``. The setting is per Python thread, so two
threads training at once each keep their own.
"""

import contextlib
import numbers
import os
import sys
import threading

import numba
import numpy as np

from ._config import NUM_THREADS, THREAD_LIMIT_VARS

__all__ = ["check_threads", "current", "default_threads", "using"]


def _usable_cpus():
    """CPUs this process may run on (``sched_getaffinity`` where the OS has it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _env_limit(environ):
    """The smallest positive whole number among ``THREAD_LIMIT_VARS`` in ``environ``, or
    None. Values that are not whole numbers (OpenMP also takes lists such as "4,2": its
    first entry is the outer level) count by their first entry, or not at all."""
    limits = []
    for name in THREAD_LIMIT_VARS:
        first = environ.get(name, "").split(",")[0].strip()
        if first.isdigit() and int(first) >= 1:
            limits.append(int(first))
    return min(limits, default=None)


#: The count from the environment at import (rule 3 without Dask's share).
_ENV_THREADS = min(_usable_cpus(), _env_limit(os.environ) or sys.maxsize)


def _dask_share():
    """Inside a task of a Dask worker: its CPUs divided among its task threads (a worker
    with ``nthreads=4`` runs four tasks at once). None elsewhere. Dask is never imported
    here: only a process that already runs it can be inside one of its workers."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        worker = distributed.get_worker()
    except (ValueError, AttributeError):  # not in a worker's task thread
        return None
    state = getattr(worker, "state", worker)
    nthreads = getattr(state, "nthreads", None)
    if not isinstance(nthreads, numbers.Integral) or nthreads < 1:
        return None
    return max(1, _ENV_THREADS // int(nthreads))


def default_threads():
    """The count of a call without ``threads=`` (rules 2 and 3 of the module docstring)."""
    if NUM_THREADS is not None:
        return NUM_THREADS
    share = _dask_share()
    return _ENV_THREADS if share is None else min(_ENV_THREADS, share)


def check_threads(threads):
    """``threads`` as an int: None (the default count) or a whole number >= 1."""
    if threads is None:
        return None
    if isinstance(threads, (bool, np.bool_)) or not isinstance(threads, numbers.Integral):
        raise TypeError(f"threads must be None or a whole number >= 1; got {threads!r} "
                        f"({type(threads).__name__})")
    if threads < 1:
        raise ValueError(f"threads must be None or a whole number >= 1; got {threads!r}")
    return int(threads)


_local = threading.local()


def _numba_limit():
    """``numba.get_num_threads()`` of this thread if Numba's threading layer is running,
    else None (``threading_layer()`` raises ValueError before it starts)."""
    try:
        numba.threading_layer()
    except ValueError:
        return None
    return numba.get_num_threads()


def current():
    """The thread count of the call running on this Python thread: its ``threads=``, else
    ``default_threads()`` capped by ``_numba_limit()``."""
    count = getattr(_local, "threads", None)
    if count is not None:
        return count
    limit = _numba_limit()
    return default_threads() if limit is None else min(default_threads(), limit)


@contextlib.contextmanager
def using(threads):
    """Within the block, ``current()`` on this Python thread is ``threads`` (a checked
    int, or None for the default)."""
    before = getattr(_local, "threads", None)
    _local.threads = threads
    try:
        yield
    finally:
        _local.threads = before
