"""Start-up cost in a fresh interpreter: ``import nnfast`` plus the first ``train`` call
(planar 2-4-1, float64, one iteration), with Numba's cache cold and warm."""

from .common import Benchmark, warm_train

#: The timed statement; its data is made inside so that only numpy is imported before it.
FIRST_CALL = """
import numpy as np
import nnfast
X = np.random.default_rng(0).standard_normal((2, 400))
nnfast.train(X, (X[:1] > 0).astype(float), [2, 4, 1], ["tanh", "sigmoid"],
             learning_rate=1.2, num_iterations=1, seed=0)
"""

#: Untimed, before FIRST_CALL: a new empty Numba cache, removed at exit.
FRESH_CACHE = """
import atexit, os, shutil, tempfile
os.environ["NUMBA_CACHE_DIR"] = _d = tempfile.mkdtemp(prefix="nnfast-cold-")
atexit.register(shutil.rmtree, _d, True)
"""


class ColdStart(Benchmark):
    """Every kernel of a training run compiled from scratch (tens of seconds): one sample."""

    repeat = 1
    rounds = 1
    min_run_count = 1
    warmup_time = 0

    def timeraw_cold_start(self):
        return FIRST_CALL, FRESH_CACHE


class WarmStart(Benchmark):
    """Kernels loaded from Numba's cache, filled by ``setup`` (target ≤ 1 s)."""

    repeat = 3
    rounds = 1
    warmup_time = 0

    def setup(self):
        warm_train("planar", "float64")

    def timeraw_warm_start(self):
        return FIRST_CALL
