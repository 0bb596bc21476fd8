"""Fixed-seed problems and helpers shared by the nnfast benchmarks.

Self-contained on purpose: asv runs these benchmarks against older commits too, so they
use only the public API every commit of main has (``nnfast.train``, ``nnfast.gradients``,
``nnfast.init_parameters``, ``nnfast.compiled``, ``nnfast.reference``) and make their own
data instead of importing it from nnfast.

Layout as in the chapter: ``X (n_x, m)``, ``Y (n_L, m)``, one example per column.
"""

import functools
import os
import time
from dataclasses import dataclass

import numpy as np

import nnfast

BACKENDS = ["compiled", "reference"]
DTYPES = ["float64", "float32"]
LEARNING_RATE = 0.05
SEED = 0


@dataclass(frozen=True)
class Network:
    """A benchmark network: ``dims`` ``(n_x, ..., n_L)``, one activation per layer, ``m``
    examples, and the number of full-batch iterations of a timed training run."""

    dims: tuple
    activations: tuple
    m: int
    iterations: int


#: The chapter's three networks, at sizes that keep one benchmark well under a second.
NETWORKS = {
    "planar": Network((2, 4, 1), ("tanh", "sigmoid"), 400, 200),        # section 6.9.3
    "digits": Network((64, 32, 10), ("tanh", "softmax"), 1797, 10),     # 8x8 digits shape
    "mnist": Network((784, 25, 10), ("tanh", "softmax"), 10000, 2),     # MNIST shape
}

#: ``NNFAST_BENCH_SMOKE=1`` (set by ``.ci/run``): a run that only checks that every
#: benchmark works — smaller MNIST-shaped batches, single repeats. Its numbers mean nothing.
SMOKE = os.environ.get("NNFAST_BENCH_SMOKE") == "1"

#: The 784-25-10 speed-up targets are about the whole MNIST training set.
MNIST_FULL_M = 10000 if SMOKE else 60000

#: Best of this many in the ``track_`` ratios.
REPEAT = 1 if SMOKE else 3

#: Mini-batch size of the one-epoch benchmarks.
BATCH_SIZE = 64


class Benchmark:
    """Base of every benchmark class: a timeout that leaves room for the first ``setup``
    of a commit, which compiles the kernels into Numba's cache (tens of seconds here)."""

    timeout = 600


@functools.lru_cache(maxsize=2)
def problem(name, dtype, m=None):
    """Fixed-seed ``(X, Y)`` for network ``name`` with ``m`` examples (default: its own m).

    planar: the chapter's two-class "flower" r = 4 sin 4θ; others: standard-normal inputs
    of the real data's shape with random one-hot labels (time does not depend on values).
    """
    net = NETWORKS[name]
    m = net.m if m is None else m
    rng = np.random.default_rng(SEED)
    if net.dims[0] == 2:
        u = np.linspace(0, 2, m, endpoint=False)     # class j: angles in [3.12 j, 3.12 (j+1))
        t = 3.12 * u + 0.2 * rng.standard_normal(m)
        r = 4 * np.sin(4 * t) + 0.2 * rng.standard_normal(m)
        X, Y = np.stack([r * np.sin(t), r * np.cos(t)]), np.floor(u)[None, :]
    else:
        X = rng.standard_normal((net.dims[0], m))
        labels = rng.integers(0, net.dims[-1], m)
        Y = np.arange(net.dims[-1])[:, None] == labels[None, :]
    return X.astype(dtype), Y.astype(dtype)


def train(name, backend, dtype, X, Y, **schedule):
    """``nnfast.train`` on network ``name``; ``schedule``: num_iterations= or batch_size=, epochs=."""
    net = NETWORKS[name]
    return nnfast.train(X, Y, net.dims, net.activations, learning_rate=LEARNING_RATE, seed=SEED,
                        backend=backend, dtype=dtype, **schedule)


def warm_train(name, dtype):
    """Compile (first time in a cache) or load from Numba's cache the training kernels of
    network ``name`` — full batch, mini-batch and ``gradients`` — on 8 examples, so that no
    timed call includes compilation. Called from ``setup``."""
    net = NETWORKS[name]
    X, Y = problem(name, dtype, m=8)
    train(name, "compiled", dtype, X, Y, num_iterations=1)
    train(name, "compiled", dtype, X, Y, batch_size=4, epochs=1)
    params = nnfast.init_parameters(net.dims, net.activations, seed=SEED, dtype=dtype)
    nnfast.gradients(X, Y, params, net.activations, backend="compiled")


def seconds_per_step(run, steps=1, repeat=REPEAT):
    """Time of one step of ``run(k)`` (k steps per call): ``(best t(2k) - best t(k)) / k``
    with k = ``steps``, which cancels the fixed cost of a call (validation, copies)."""
    best = {steps: float("inf"), 2 * steps: float("inf")}
    for _ in range(repeat):
        for k in best:
            start = time.perf_counter()
            run(k)
            best[k] = min(best[k], time.perf_counter() - start)
    step = (best[2 * steps] - best[steps]) / steps
    return step if step > 0 else best[2 * steps] / (2 * steps)
