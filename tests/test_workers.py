"""The kernels' own threads: ``nnfast._workers`` and the barrier of ``_kernels/sync.py``."""

import numpy as np
import pytest
from numba import njit

from nnfast import _workers
from nnfast._kernels.sync import atomic_add, wait


@njit(nogil=True)
def _rounds(t, sync, counts, seen, n_rounds):
    """Each round every thread adds to counts[round] and, after the barrier, records what
    it sees: all threads' additions, if the barrier held."""
    n = seen.shape[0]
    for r in range(n_rounds):
        atomic_add(counts, r, t + 1)
        if not wait(sync, n):
            return
        seen[t, r] = counts[r]
        if not wait(sync, n):
            return


@pytest.mark.parametrize("n_threads", [1, 2, 3, 5])
def test_barrier_separates_rounds(n_threads):
    n_rounds = 200
    counts = np.zeros(n_rounds, np.int64)
    seen = np.zeros((n_threads, n_rounds), np.int64)
    _workers.run(_rounds, n_threads, _workers.new_sync(), counts, seen, n_rounds)
    expected = n_threads * (n_threads + 1) // 2
    assert (counts == expected).all()
    assert (seen == expected).all()


def _raise_on_one(t, sync, out):
    if t == 1:
        raise RuntimeError("worker 1 failed")
    _wait_then_mark(t, sync, out)


@njit(nogil=True)
def _wait_then_mark(t, sync, out):
    if wait(sync, out.shape[0]):
        out[t] = 1.0


def test_an_error_in_one_worker_is_raised_and_the_others_stop_waiting():
    out = np.zeros(3)
    with pytest.raises(RuntimeError, match="worker 1 failed"):
        _workers.run(_raise_on_one, 3, _workers.new_sync(), out)
    assert out.tolist() == [0.0, 0.0, 0.0]  # nobody passed the barrier
