"""Accuracy, special values and vectorisation of ``nnfast._kernels.mathfast``.

The oracle is NumPy in ``np.longdouble`` (x87 extended or IEEE quad: at least 11
more significand bits than float64), so the measured errors are those of the fast
functions, not of NumPy's float64 results.  The oracle runs under
``np.errstate(all="raise")``, so a NumPy floating-point warning fails the test.
Everything is called through small ``@njit`` array loops, i.e. through the
vectorised code path.
"""
import re

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from nnfast._kernels.mathfast import (exp_fast, log1p_fast, sigmoid_fast,
                                      softplus_fast, tanh_fast)

LD = np.longdouble
ULP_BOUND = 2.0
DTYPES = (np.float64, np.float32)

pytestmark = pytest.mark.skipif(
    np.finfo(LD).nmant < 63, reason="np.longdouble is not precise enough to be the oracle")


def _loop(f):
    @njit(error_model="numpy")
    def loop(x, out):
        for i in range(x.size):
            out[i] = f(x[i])
    return loop


# ---------------------------------------------------------------------------
# Oracle: long-double NumPy, computed in the stable form and only on the domain,
# so that NumPy raises no floating-point warning (checked: errstate "raise").
# ---------------------------------------------------------------------------

def _exp_neg_abs(x):
    # exp(-|x|) with |x| capped where long double would underflow; still 0 in float64
    return np.exp(-np.minimum(np.abs(x), LD(11000)))


def _ref_exp(x):
    return np.exp(np.clip(x, LD(-11000), LD(11000)))


def _ref_sigmoid(x):
    e = _exp_neg_abs(x)
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _ref_softplus(x):
    return np.maximum(x, 0) + np.log1p(_exp_neg_abs(x))


def _ref_log1p(x):
    inside = x > -1
    return np.where(inside, np.log1p(np.where(inside, x, 0)),
                    np.where(x == -1, -np.inf, np.nan)).astype(LD)


FUNCS = {
    "exp": (exp_fast, _ref_exp),
    "tanh": (tanh_fast, np.tanh),
    "sigmoid": (sigmoid_fast, _ref_sigmoid),
    "log1p": (log1p_fast, _ref_log1p),
    "softplus": (softplus_fast, _ref_softplus),
}
_LOOPS = {name: _loop(f) for name, (f, _) in FUNCS.items()}


def _run(name, x):
    out = np.empty_like(x)
    _LOOPS[name](x, out)
    return out


def _to_ld(a):
    with np.errstate(invalid="ignore"):  # NumPy flags NaN in a cast to long double
        return a.astype(LD)


def _reference(name, x):
    x = _to_ld(x)
    with np.errstate(all="raise"):
        return FUNCS[name][1](x)


def _ulp_error(got, ref, dtype):
    """|got - ref| in ulps of ``dtype`` at ``ref``; both NaN counts as 0, one NaN as inf.

    Infinities are treated as the next power of two past the largest finite
    number, so that inf against a value just beyond ``finfo.max`` is a fraction of
    an ulp, as it should be, and inf against anything smaller is a large error.
    """
    fi = np.finfo(dtype)
    beyond = LD(2) ** fi.maxexp
    g = np.clip(_to_ld(got), -beyond, beyond)
    r = np.clip(ref, -beyond, beyond)
    with np.errstate(invalid="ignore"):
        _, exponent = np.frexp(r)
        ulp = np.ldexp(LD(1), np.maximum(exponent - 1, fi.minexp) - fi.nmant)
        err = np.abs(g - r) / ulp
    nan_got, nan_ref = np.isnan(got), np.isnan(ref)
    err[nan_got & nan_ref] = 0
    err[nan_got ^ nan_ref] = np.inf
    return err


def _assert_within_bound(name, x):
    dtype = x.dtype.type
    got = _run(name, x)
    assert got.dtype == x.dtype
    ref = _reference(name, x)
    err = _ulp_error(got, ref, dtype)
    worst = int(np.argmax(err))
    assert err[worst] <= ULP_BOUND, (
        f"{name}[{dtype.__name__}]({x[worst]!r}) = {got[worst]!r}, "
        f"reference {ref[worst]!r}: {err[worst]:.3f} ulp")
    # finite input, finite true value -> never NaN
    finite = np.isfinite(x) & ~np.isnan(ref)
    assert not np.isnan(got[finite]).any()


# ---------------------------------------------------------------------------
# (1) Dense deterministic grid over the whole real line
# ---------------------------------------------------------------------------

# Switch points and thresholds of the implementations, and of the functions:
# tanh's polynomial/exp switch, log's sqrt(2) reduction boundaries, exp's overflow
# and (gradual) underflow thresholds per dtype, where tanh/sigmoid saturate, ...
_POINTS = (0.0, 0.625, 0.5, 1.0, 2.0, 0.3466, 0.6931, 0.7071, 1.4142, 0.4142, -0.2929,
           0.5 * np.log(2), 19.06, 36.7, 9.01, 16.6, 709.78, -708.4, -745.13,
           88.72, -87.34, -103.97, 354.9, 44.4, -1.0)


def _grid(dtype):
    fi = np.finfo(dtype)
    rng = np.random.default_rng(20240611)
    specials = [0.0, -0.0, np.inf, -np.inf, np.nan, fi.max, -fi.max, fi.smallest_normal,
                -fi.smallest_normal, fi.smallest_subnormal, -fi.smallest_subnormal, 1.0, -1.0]
    parts = [np.array(specials, dtype=dtype),
             np.linspace(-4, 4, 80001, dtype=dtype),     # dense near 0
             np.linspace(-800, 800, 40001, dtype=dtype)]  # tails, incl. all thresholds
    for p in _POINTS:
        for centre in (dtype(p), dtype(-p)):
            width = 1e-3 * max(1.0, abs(float(centre)))
            parts.append(np.linspace(centre - width, centre + width, 1001, dtype=dtype))
            # the point and its neighbouring floats themselves
            parts.append(centre + np.arange(-3, 4, dtype=dtype) * np.spacing(centre))
    # every binade from the smallest subnormal to the largest finite, both signs
    exponents = np.linspace(np.log2(fi.smallest_subnormal), fi.maxexp - 1, 20001)
    mags = np.ldexp(2 ** (exponents % 1), np.floor(exponents).astype(int)).astype(dtype)
    parts += [mags, -mags]
    # random bit patterns: uniform over all floats of the dtype
    itype = np.int64 if dtype is np.float64 else np.int32
    parts.append(rng.integers(np.iinfo(itype).min, np.iinfo(itype).max, 20000,
                              dtype=itype, endpoint=True).view(dtype))
    # log1p approaching its pole at -1
    parts.append((-1 + np.logspace(-16, 0, 2001)).astype(dtype))
    return np.concatenate(parts)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", list(FUNCS))
def test_grid_within_bound(name, dtype):
    _assert_within_bound(name, _grid(dtype))


# ---------------------------------------------------------------------------
# (2) Hypothesis: any float of the given width
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("width", (64, 32))
@pytest.mark.parametrize("name", list(FUNCS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_hypothesis_within_bound(name, width, data):
    dtype = np.float64 if width == 64 else np.float32
    values = data.draw(st.lists(st.floats(width=width), min_size=1, max_size=32))
    _assert_within_bound(name, np.array(values, dtype=dtype))


# ---------------------------------------------------------------------------
# (3) Exact limits and special values
# ---------------------------------------------------------------------------

_inf, _nan = np.inf, np.nan
_EXACT = {
    "exp": [(-_inf, 0.0), (_inf, _inf), (0.0, 1.0), (-0.0, 1.0), (1e4, _inf), (-1e4, 0.0),
            (_nan, _nan)],
    "tanh": [(_inf, 1.0), (-_inf, -1.0), (0.0, 0.0), (-0.0, -0.0), (25.0, 1.0),
             (-25.0, -1.0), (1e30, 1.0), (_nan, _nan)],
    "sigmoid": [(_inf, 1.0), (-_inf, 0.0), (0.0, 0.5), (-0.0, 0.5), (40.0, 1.0),
                (-1e4, 0.0), (1e30, 1.0), (-1e30, 0.0), (_nan, _nan)],
    "log1p": [(-1.0, -_inf), (_inf, _inf), (0.0, 0.0), (-0.0, -0.0), (-2.0, _nan),
              (-_inf, _nan), (_nan, _nan)],
    "softplus": [(-_inf, 0.0), (_inf, _inf), (-1e4, 0.0), (1e30, 1e30), (_nan, _nan)],
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", list(FUNCS))
def test_exact_values(name, dtype):
    x, expected = (np.array(v, dtype=dtype) for v in zip(*_EXACT[name], strict=True))
    got = _run(name, x)
    np.testing.assert_array_equal(got, expected)  # NaN == NaN here
    zero = expected == 0
    assert (np.signbit(got[zero]) == np.signbit(expected[zero])).all(), "sign of zero lost"


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_saturation_and_tiny_arguments(dtype):
    fi = np.finfo(dtype)
    big = np.array([30.0, 50.0, 1e10, fi.max], dtype=dtype)
    assert (_run("tanh", big) == 1).all() and (_run("tanh", -big) == -1).all()
    assert (_run("sigmoid", big[1:]) == 1).all() and (_run("sigmoid", -big[2:]) == 0).all()
    # odd functions and log1p return tiny arguments unchanged, subnormals included
    tiny = np.array([fi.smallest_subnormal, fi.smallest_normal, 1e-30], dtype=dtype)
    for name in ("tanh", "log1p"):
        np.testing.assert_array_equal(_run(name, tiny), tiny)
        np.testing.assert_array_equal(_run(name, -tiny), -tiny)
    # exp underflows gradually through the subnormals
    sub = _run("exp", np.array([np.log(fi.smallest_normal) - 2], dtype=dtype))[0]
    assert 0 < sub < fi.smallest_normal
    # softplus is finite for every finite input
    edge = np.array([fi.max, -fi.max], dtype=dtype)
    assert np.isfinite(_run("softplus", edge)).all()


def test_fastmath_caller_keeps_special_values():
    """The functions keep their own fast-math flags when inlined into a fastmath caller."""
    @njit(fastmath=True)
    def loop(x, out):
        for i in range(x.size):
            out[i] = tanh_fast(x[i]) + sigmoid_fast(x[i])

    x = np.array([np.nan, np.inf, -np.inf, 0.0])
    out = np.empty_like(x)
    loop(x, out)
    np.testing.assert_array_equal(out, [np.nan, 2.0, -1.0, 0.5])


def test_rejects_non_float_arguments():
    from numba.core.errors import TypingError
    with pytest.raises(TypingError):
        exp_fast(1)


# ---------------------------------------------------------------------------
# (4) Vectorisation: the loops compile to packed FMA code without libm calls
# ---------------------------------------------------------------------------

def _host_has_avx2_fma():
    import llvmlite.binding as llvm
    features = llvm.get_host_cpu_features()
    return bool(features.get("avx2")) and bool(features.get("fma"))


@pytest.mark.skipif(not _host_has_avx2_fma(), reason="needs an x86 CPU with AVX2 and FMA")
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", list(FUNCS))
def test_loop_is_vectorised(name, dtype):
    loop = _LOOPS[name]
    x = np.linspace(0.5, 2, 64, dtype=dtype)
    loop(x, np.empty_like(x))
    asm = loop.inspect_asm((numba.typeof(x), numba.typeof(x)))
    # the kernel itself, not numba's Python wrapper (which does make calls)
    kernel = re.search(r"^_ZN(?!7cpython)\w*loop\w*:\n(.*?)^\.Lfunc_end", asm, re.S | re.M)
    body = kernel.group(1)
    suffix = "pd" if dtype is np.float64 else "ps"
    assert re.search(rf"vfn?m(?:add|sub)\w*{suffix}\s+[^\n]*%[yz]mm", body), "no packed FMA"
    assert not re.search(r"\bcall", body), "the loop still calls a function"
