"""The schedule of a training run: which examples each epoch visits, in which order, and
where the run pauses to report progress. Shared by both backends so they take the same
steps."""

import numpy as np


def epoch_orders(m, n_epochs, shuffle, rng):
    """``(k, m)`` int64 orders; epoch e visits the examples ``orders[e % k]``.

    Without shuffling one row ``0..m-1`` serves every epoch; with shuffling each epoch
    gets its own permutation, drawn here with NumPy (never inside a kernel).
    """
    if not shuffle:
        return np.arange(m, dtype=np.int64)[None, :]
    return np.stack([rng.permutation(m) for _ in range(max(n_epochs, 1))]).astype(np.int64)


def callback_chunks(n_epochs, full_batch):
    """``[(start, stop), ...]`` covering ``range(n_epochs)``: one chunk per epoch for
    mini-batch runs, about 1% of the iterations per chunk for full batch."""
    step = max(1, n_epochs // 100) if full_batch else 1
    return [(start, min(start + step, n_epochs)) for start in range(0, n_epochs, step)]
