"""Speed of the vectorisable transcendentals in ``nnfast._kernels.mathfast``.

For each function, dtype and array size, prints the best time per element of

* ``numpy``: the NumPy ufunc (or the usual NumPy expression for sigmoid/softplus),
* ``numba+libm``: a ``@njit`` loop calling ``np.tanh``/``np.exp``/... per element,
  which Numba compiles to one scalar libm call per element,
* ``numba+fast``: the same loop calling the ``*_fast`` function, which LLVM
  vectorises.

Usage::

    python scripts/bench_mathfast.py [--repeats 15]

Set ``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES`` to time code generated for another
CPU (e.g. an AVX2-only one) on this machine.
"""
import argparse
import time

import llvmlite.binding as llvm
import numba
import numpy as np
from numba import njit

from nnfast._kernels import mathfast as mf

SIZES = (1600, 1_000_000)
DTYPES = (np.float64, np.float32)


def _loop(f):
    @njit(error_model="numpy")
    def loop(x, out):
        for i in range(x.size):
            out[i] = f(x[i])
    return loop


@njit(error_model="numpy")
def _sigmoid_libm(x):
    return 1 / (1 + np.exp(-x))


@njit(error_model="numpy")
def _softplus_libm(x):
    return max(x, 0) + np.log1p(np.exp(-abs(x)))


def _numpy_sigmoid(x, out):
    np.exp(-x, out=out)
    out += 1
    np.reciprocal(out, out=out)


def _numpy_softplus(x, out):
    np.logaddexp(0, x, out=out)


# name, NumPy version (x, out), per-element libm function, fast function, inputs
CASES = (
    ("tanh", lambda x, out: np.tanh(x, out=out), np.tanh, mf.tanh_fast, "real"),
    ("exp", lambda x, out: np.exp(x, out=out), np.exp, mf.exp_fast, "real"),
    ("sigmoid", _numpy_sigmoid, _sigmoid_libm, mf.sigmoid_fast, "real"),
    ("log1p", lambda x, out: np.log1p(x, out=out), np.log1p, mf.log1p_fast, "positive"),
    ("softplus", _numpy_softplus, _softplus_libm, mf.softplus_fast, "real"),
)


def _inputs(kind, n, dtype):
    rng = np.random.default_rng(0)
    # pre-activation-like values, spread over every branch of the functions
    x = rng.normal(0.0, 4.0, n) if kind == "real" else rng.uniform(1e-3, 10.0, n)
    return x.astype(dtype)


def _best_ns_per_element(fn, x, out, repeats):
    """Best of ``repeats`` timings, each of enough calls to last about 5 ms.

    Short timings and the minimum keep out most of the noise of a busy machine.
    """
    fn(x, out)  # compile / warm up
    start = time.perf_counter()
    fn(x, out)
    calls = max(1, int(0.005 / max(time.perf_counter() - start, 1e-9)))
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn(x, out)
        best = min(best, (time.perf_counter() - start) / calls)
    return best / x.size * 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    cpu = numba.config.CPU_NAME or llvm.get_host_cpu_name()
    print(f"numba {numba.__version__} (target CPU {cpu}), numpy {np.__version__}; "
          f"ns per element, best of {args.repeats}")
    header = (f"{'function':9s} {'dtype':8s} {'n':>9s} {'numpy':>8s} {'numba+libm':>11s} "
              f"{'numba+fast':>11s} {'libm/fast':>10s}")
    print(header)
    print("-" * len(header))
    for name, numpy_fn, libm_fn, fast_fn, kind in CASES:
        libm_loop, fast_loop = _loop(libm_fn), _loop(fast_fn)
        for dtype in DTYPES:
            for n in SIZES:
                x = _inputs(kind, n, dtype)
                out = np.empty_like(x)
                t_numpy, t_libm, t_fast = (_best_ns_per_element(fn, x, out, args.repeats)
                                           for fn in (numpy_fn, libm_loop, fast_loop))
                print(f"{name:9s} {dtype.__name__:8s} {n:9d} {t_numpy:8.2f} {t_libm:11.2f} "
                      f"{t_fast:11.2f} {t_libm / t_fast:9.1f}x", flush=True)


if __name__ == "__main__":
    main()
