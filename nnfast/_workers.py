"""Run a kernel on several threads: the same ``nogil`` kernel called once per thread.

The training kernels split their work by a thread index ``t`` and meet at a barrier of
their own (``_kernels/sync.py``); this module only starts the threads and joins them. No
OpenMP and no Numba threading layer is involved, so a ``fork`` child after a parallel
run, two Python threads training at once, and PyTorch in the same process are all safe.
"""

import threading

import numpy as np

from ._kernels.sync import ABORTED, SYNC_SIZE


def new_sync():
    """A fresh barrier for one run (int64 counters; see ``_kernels/sync.py``)."""
    return np.zeros(SYNC_SIZE, np.int64)


def run(kernel, n_threads, sync, *args):
    """``kernel(t, sync, *args)`` for t = 0..n_threads-1 at once, t = 0 on the calling
    thread. An exception in any thread stops the others at their next barrier and is
    raised here after all have returned."""
    if n_threads == 1:
        kernel(0, sync, *args)
        return
    errors = []

    def work(t):
        try:
            kernel(t, sync, *args)
        except BaseException as error:  # re-raised below, on the calling thread
            errors.append(error)
            sync[ABORTED] = 1

    threads = [threading.Thread(target=work, args=(t,), name=f"nnfast-{t}", daemon=True)
               for t in range(1, n_threads)]
    for thread in threads:
        thread.start()
    work(0)
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
