"""Settings that change numerics live in nnfast._config: no kernel sets its own."""

import pathlib
import re

import nnfast

KERNELS = pathlib.Path(nnfast.__file__).parent / "_kernels"


def test_every_kernel_uses_the_shared_jit_options():
    decorators = 0
    for path in KERNELS.glob("*.py"):
        for line in path.read_text().splitlines():
            if re.match(r"\s*@(numba\.)?(njit|jit|vectorize|guvectorize)\b", line):
                decorators += 1
                assert re.match(r"\s*@njit\(\*\*JIT(_REDUCE|_INLINE|_IR_INLINE)?\)\s*$", line), \
                    f"{path.name}: {line.strip()}"
            assert "fastmath=" not in line and "cache=" not in line and "parallel=" not in line, \
                f"{path.name} sets its own option: {line.strip()}"
    assert decorators > 10


def test_fastmath_keeps_nan_and_inf_semantics():
    from nnfast._config import FASTMATH, JIT, JIT_INLINE, JIT_IR_INLINE, JIT_REDUCE
    assert not {"fast", "nnan", "ninf", "reassoc"} & set(FASTMATH)
    for options in (JIT, JIT_INLINE, JIT_IR_INLINE, JIT_REDUCE):
        assert options["cache"] is True
        assert not {"fast", "nnan", "ninf", "afn"} & set(options["fastmath"])


def _expected_vector_bytes():
    """What the packed kernel's vector width should be here, derived from Numba's target:
    64 bytes where the features it compiles for include AVX-512F, else 32."""
    import os

    from llvmlite import binding as llvm
    from numba.core import config

    forced = os.environ.get("NNFAST_VECTOR_BYTES")
    if forced:
        return int(forced)
    if config.CPU_FEATURES is not None:
        features = set(config.CPU_FEATURES.split(","))
        return 64 if "+avx512f" in features else 32
    return 64 if llvm.get_host_cpu_features().get("avx512f", False) else 32


def test_vector_width_follows_the_compile_target():
    import numpy as np

    from nnfast._config import VECTOR_BYTES
    from nnfast._kernels.gemm import tile_shape

    assert VECTOR_BYTES == _expected_vector_bytes()
    for dtype in (np.float32, np.float64):
        mr, nr, w = tile_shape(dtype)
        w_expected = VECTOR_BYTES // np.dtype(dtype).itemsize
        assert (mr, nr, w) == (6, 2 * w_expected, w_expected)


_OTHER_WIDTH = """
import numpy as np
from nnfast._kernels import gemm as G
rng = np.random.default_rng(5)
worst = 0.0
for dtype in (np.float32, np.float64):
    _, NR, _ = G.tile_shape(dtype)
    for m, n, k in ((1, 1, 1), (7, NR + 3, 5), (13, 2 * NR - 1, 300), (6, NR, 0)):
        A = rng.standard_normal((m, k)).astype(dtype)
        B = rng.standard_normal((k, n)).astype(dtype)
        C = np.full((m, n), 7.0, dtype)
        blocks = np.array([256, G.round_to_tiles(dtype, 12, 0), G.round_to_tiles(dtype, n, 1)], np.int64)
        G.gemm(m, n, k, (A.reshape(-1), 0, k, 1), (B.reshape(-1), 0, n, 1), (C.reshape(-1), 0, n), G.STORE,
               (np.zeros(m, dtype), 0), (G.EPI_NONE, 0, C.reshape(-1), C.reshape(-1)), True, blocks,
               np.zeros(G.pack_size(tuple(blocks)), dtype))
        exact = A.astype(np.float64) @ B.astype(np.float64)
        scale = np.abs(A).astype(np.float64) @ np.abs(B).astype(np.float64) + 1e-300
        worst = max(worst, float(np.max(np.abs(C - exact) / scale, initial=0.0)) / ((k + 1) * np.finfo(dtype).eps))
print(G.VECTOR_BYTES, worst)
"""


def test_the_other_vector_width_computes_the_same_products(tmp_path):
    """The tile at the width this machine does not use by default (``NNFAST_VECTOR_BYTES``,
    a new process and an empty cache): products, edge tiles included, within 4·(k+1)·eps
    of NumPy's relative to |A|·|B|, in both dtypes. (On AVX2, LLVM splits 64-byte vectors
    in two: slow but the same arithmetic.)"""
    import os
    import subprocess
    import sys

    other = 32 if _expected_vector_bytes() == 64 else 64
    env = {**os.environ, "NNFAST_VECTOR_BYTES": str(other), "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", _OTHER_WIDTH], env=env, capture_output=True, text=True, check=True)
    width, worst = out.stdout.split()
    assert int(width) == other
    assert float(worst) <= 4


def test_a_bad_vector_width_is_refused_at_import():
    import os
    import subprocess
    import sys

    env = {**os.environ, "NNFAST_VECTOR_BYTES": "48"}
    out = subprocess.run([sys.executable, "-c", "import nnfast"], env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "NNFAST_VECTOR_BYTES must be 32 or 64; got '48'" in out.stderr
