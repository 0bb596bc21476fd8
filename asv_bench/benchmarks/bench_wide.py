"""The networks people train on a CPU: MNIST-shaped input, relu hidden layers of 128 to 512
units, softmax output, mini-batches of 128 — and ``predict`` on 10,000 examples.

``track_`` ratios are compiled over reference (NumPy), both sides timed inside one call
(see ``bench_speedup``). Data: fixed-seed standard-normal inputs of MNIST's shape, held
with one example per row (``X_rows.T``, as scikit-learn and the MNIST files hold it) and
in the chapter's layout.
"""

import functools
import time

import numpy as np

import nnfast

from .common import DTYPES, LEARNING_RATE, SEED, SMOKE, Benchmark, seconds_per_step

#: name -> layer sizes; relu hidden layers, softmax output.
WIDE = {"784-128-10": (784, 128, 10), "784-256-128-10": (784, 256, 128, 10),
        "784-512-512-10": (784, 512, 512, 10)}
LAYOUTS = ["rows", "columns"]
BATCH = 128
M = 1024 if SMOKE else 8192
M_PREDICT = 1000 if SMOKE else 10000


def _activations(dims):
    return ("relu",) * (len(dims) - 2) + ("softmax",)


@functools.lru_cache(maxsize=4)
def _data(dtype, layout, m):
    rng = np.random.default_rng(SEED)
    X_rows = rng.standard_normal((m, 784)).astype(dtype)
    X = X_rows.T if layout == "rows" else np.ascontiguousarray(X_rows.T)
    Y = (np.arange(10)[:, None] == rng.integers(0, 10, m)[None, :]).astype(dtype)
    return X, Y


class _Wide(Benchmark):
    params = [list(WIDE), DTYPES, LAYOUTS]
    param_names = ["network", "dtype", "layout"]

    def setup(self, network, dtype, layout):
        self.dims = WIDE[network]
        self.acts = _activations(self.dims)
        self.X, self.Y = _data(dtype, layout, M)
        self.parameters = nnfast.init_parameters(self.dims, self.acts, seed=SEED, dtype=dtype)
        self._epochs("compiled", 1, self.X[:, :2 * BATCH], self.Y[:, :2 * BATCH])  # compile / load

    def _epochs(self, backend, k, X=None, Y=None):
        return nnfast.train(self.X if X is None else X, self.Y if Y is None else Y, self.dims, self.acts,
                            learning_rate=LEARNING_RATE, batch_size=BATCH, epochs=k, shuffle=False,
                            parameters=self.parameters, backend=backend)


class WideEpoch(_Wide):
    """One epoch of mini-batch SGD, batch 128, on 8192 examples (time per epoch, the fixed
    cost of a ``train`` call left out); ``track_`` compiled over reference."""

    unit = "x"

    def track_epoch_speedup(self, network, dtype, layout):
        t = {b: seconds_per_step(lambda k, b=b: self._epochs(b, k), 1) for b in ("compiled", "reference")}
        return t["reference"] / t["compiled"]


class _Predict(_Wide):
    def setup(self, network, dtype, layout):
        super().setup(network, dtype, layout)
        self.Xp = _data(dtype, layout, M_PREDICT)[0]
        nnfast.predict_proba(self.parameters, self.Xp[:, :10], self.acts)


class WidePredict(_Predict):
    """``predict_proba`` on 10,000 examples: the forward pass alone."""

    def time_predict(self, network, dtype, layout):
        nnfast.predict_proba(self.parameters, self.Xp, self.acts)


class WidePredictSpeedUp(_Predict):
    """``predict_proba`` on 10,000 examples, compiled over reference (best of 3 each)."""

    unit = "x"

    def track_predict_speedup(self, network, dtype, layout):
        t = {}
        for backend in ("compiled", "reference"):
            best = float("inf")
            for _ in range(1 if SMOKE else 3):
                start = time.perf_counter()
                nnfast.predict_proba(self.parameters, self.Xp, self.acts, backend=backend)
                best = min(best, time.perf_counter() - start)
            t[backend] = best
        return t["reference"] / t["compiled"]
