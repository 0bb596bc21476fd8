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
