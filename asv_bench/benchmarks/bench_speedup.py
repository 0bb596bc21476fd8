"""Speed-up ratios (unit "x"), each measured inside one ``track_`` call so that both sides
of a ratio see the same machine state: far less noisy than two separate timings.

Each side is a time per step (iteration or epoch) from ``common.seconds_per_step``, so the
fixed cost of a ``train`` call (validation, copies) is left out of the ratio.
"""

import numba

from .common import (BACKENDS, BATCH_SIZE, DTYPES, MNIST_FULL_M, NETWORKS, Benchmark, problem,
                     seconds_per_step, train, warm_train)

#: Steps per timed call (k in seconds_per_step), so that even the compiled call lasts
#: ≳ 10 ms and the difference t(2k) - t(k) stands well above the machine's noise.
_ITERATIONS = {"planar": 2000, "digits": 50, "mnist": 1}
_EPOCHS = {"planar": 20, "digits": 4, "mnist": 1}


def _per_step(network, backend, dtype, X, Y, schedule, steps):
    """Seconds per step of ``train(..., **schedule(k))``, k = ``steps`` and 2·``steps``."""
    return seconds_per_step(lambda k: train(network, backend, dtype, X, Y, **schedule(k)), steps)


class _Ratio(Benchmark):
    unit = "x"
    params = [list(NETWORKS), DTYPES]
    param_names = ["network", "dtype"]
    m = {}  # network -> m when not the network's own

    def setup(self, network, dtype):
        self.X, self.Y = problem(network, dtype, self.m.get(network))
        warm_train(network, dtype)

    def _speedup(self, network, dtype, schedule, steps):
        t = {b: _per_step(network, b, dtype, self.X, self.Y, schedule, steps) for b in BACKENDS}
        return t["reference"] / t["compiled"]


class SpeedUpFullBatch(_Ratio):
    """Compiled over reference, time per full-batch iteration; 784-25-10 on 60000
    examples (targets: planar ≥ 30x, 64-32-10 ≥ 10x, 784-25-10 ≥ 2x)."""

    m = {"mnist": MNIST_FULL_M}

    def track_full_batch(self, network, dtype):
        return self._speedup(network, dtype, lambda k: {"num_iterations": k}, _ITERATIONS[network])


class SpeedUpMiniBatch(_Ratio):
    """Compiled over reference, time per epoch of mini-batches of 64 (target ≥ 3x)."""

    def track_minibatch_epoch(self, network, dtype):
        return self._speedup(network, dtype, lambda k: {"batch_size": BATCH_SIZE, "epochs": k},
                             _EPOCHS[network])


class ThreadScaling(Benchmark):
    """Compiled, all of Numba's threads over one thread, time per full-batch iteration of
    784-25-10 on 60000 examples (target ≥ 1.8x on 2 cores)."""

    unit = "x"
    params = [DTYPES]
    param_names = ["dtype"]

    def setup(self, dtype):
        self.X, self.Y = problem("mnist", dtype, MNIST_FULL_M)
        warm_train("mnist", dtype)

    def track_threads_over_one(self, dtype):
        t = {}
        for threads in (1, numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(threads)
            t[threads] = _per_step("mnist", "compiled", dtype, self.X, self.Y,
                                   lambda k: {"num_iterations": k}, _ITERATIONS["mnist"])
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        return t[1] / t[numba.config.NUMBA_NUM_THREADS]
