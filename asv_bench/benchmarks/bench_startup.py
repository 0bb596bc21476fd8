"""Start-up cost in a fresh interpreter: ``import nnfast`` alone, and ``import nnfast`` plus
the first ``train`` call (planar 2-4-1, one iteration) in float64 and float32, with
Numba's cache cold and warm. The training tree does not depend on the layer sizes (every
path of a dtype is compiled), so the planar call compiles the same tree as MNIST's."""

from .common import Benchmark, warm_train

#: The timed statement; its data is made inside so that only numpy is imported before it.
FIRST_CALL = """
import numpy as np
import nnfast
X = np.random.default_rng(0).standard_normal((2, 400)).astype("{dtype}")
nnfast.train(X, (X[:1] > 0).astype("{dtype}"), [2, 4, 1], ["tanh", "sigmoid"],
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

    params = ["float64", "float32"]
    param_names = ["dtype"]
    repeat = 1
    rounds = 1
    min_run_count = 1
    warmup_time = 0

    def timeraw_cold_start(self, dtype):
        return FIRST_CALL.format(dtype=dtype), FRESH_CACHE


class WarmStart(Benchmark):
    """Kernels loaded from Numba's cache, filled by ``setup`` (target: import plus first
    call <= 0.5 s)."""

    params = ["float64", "float32"]
    param_names = ["dtype"]
    repeat = 3
    rounds = 1
    warmup_time = 0

    def setup(self, dtype):
        warm_train("planar", dtype)

    def timeraw_warm_start(self, dtype):
        return FIRST_CALL.format(dtype=dtype)


class Import(Benchmark):
    """``import nnfast`` alone (numpy, numba and nnfast's modules; no kernel is loaded)."""

    repeat = 5
    rounds = 1
    warmup_time = 0

    def timeraw_import(self):
        return "import nnfast"
