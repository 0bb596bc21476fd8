"""Shared hypothesis strategies and tolerances for comparing the two backends."""

import numpy as np
from hypothesis import strategies as st

import nnfast
from nnfast._activations import HIDDEN, OUTPUT_COSTS

#: Relative tolerance per dtype, measured against the largest magnitude of the expected
#: array (entries that cancel to ~0 are compared on that scale, not on their own).
#: float64: the two backends sum in different orders (BLAS vs loops), so they agree to a
#: few ulp of the largest term times the depth of the sums; 1e-10 leaves ample room.
#: float32: eps is 6e-8; sums of up to a few hundred terms through up to 3 layers of
#: saturating activations stay within 2e-4 (observed < 2e-5).
RTOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 2e-4}

DTYPES = st.sampled_from([np.float64, np.float32])


def assert_close(actual, desired, dtype, name="", floor=1e-30):
    """``max|actual - desired| <= RTOL[dtype] * max(max|desired|, floor)``."""
    actual = np.asarray(actual)
    desired = np.asarray(desired)
    assert actual.shape == desired.shape, (name, actual.shape, desired.shape)
    rtol = RTOL[np.dtype(dtype)]
    scale = max(float(np.max(np.abs(desired))) if desired.size else 0.0, floor)
    err = float(np.max(np.abs(actual.astype(np.float64) - desired.astype(np.float64)))) if desired.size else 0.0
    assert err <= rtol * scale, f"{name}: max abs error {err:.3e} > {rtol:g} x scale {scale:.3e}"


def gradient_scales(X, Y, params, acts):
    """For each gradient, the size of the terms its entries are sums of, e.g. for dW[l]
    max (1/m) |dZ[l]|·|A[l-1]|ᵀ, with |dZ[l-1]| = (|W[l]|ᵀ·|dZ[l]|) * |g'(Z[l-1])| from the
    output down. A gradient that cancels to nearly 0 is compared on this scale: its
    rounding error is relative to the terms, not to the sum."""
    from nnfast import reference

    X64 = X.astype(np.float64)
    P64 = {k: v.astype(np.float64) for k, v in params.items()}
    _, cache = reference.forward_propagation(X64, P64, acts)
    L, m = len(acts), X.shape[1]
    A = [np.abs(X64)] + [np.abs(cache[f"A{l}"]) for l in range(1, L + 1)]
    # dZ[L] = A[L] - Y is itself a sum of two terms: where A[L] ≈ Y (a saturated, correct
    # output) it cancels, and its rounding error is relative to |A[L]| + |Y|.
    dZ = np.abs(cache[f"A{L}"]) + np.abs(Y.astype(np.float64))
    scales = {}
    for l in range(L, 0, -1):
        scales[f"dW{l}"] = float(np.max(dZ @ A[l - 1].T)) / m
        scales[f"db{l}"] = float(np.max(dZ.sum(axis=1))) / m
        if l > 1:
            derivative = getattr(reference, f"{acts[l - 2]}_derivative")
            dZ = (np.abs(P64[f"W{l}"]).T @ dZ) * np.abs(derivative(cache[f"Z{l - 1}"]))
    return scales


@st.composite
def networks(draw, max_layers=3, max_width=7, max_m=40, outputs=tuple(OUTPUT_COSTS)):
    """A random network and data: (X, Y, parameters, activations, dtype)."""
    dtype = draw(DTYPES)
    L = draw(st.integers(1, max_layers))
    output = draw(st.sampled_from(outputs))
    dims = [draw(st.integers(1, max_width)) for _ in range(L)]
    dims.append(draw(st.integers(2 if output == "softmax" else 1, max_width)))
    acts = [draw(st.sampled_from(HIDDEN)) for _ in range(L - 1)] + [output]
    m = draw(st.integers(1, max_m))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = rng.normal(0, draw(st.sampled_from([0.1, 1.0, 3.0])), (dims[0], m))
    params = {}
    for l in range(1, L + 1):
        params[f"W{l}"] = rng.normal(0, 1.5 / np.sqrt(dims[l - 1]), (dims[l], dims[l - 1]))
        params[f"b{l}"] = rng.normal(0, 0.5, (dims[l], 1))
    if output == "sigmoid":
        Y = (rng.random((dims[-1], m)) < 0.5).astype(np.float64)
    elif output == "softmax":
        Y = np.eye(dims[-1])[:, rng.integers(0, dims[-1], m)]
    else:
        Y = rng.normal(0, 1, (dims[-1], m))
    cast = lambda a: a.astype(dtype)
    return cast(X), cast(Y), {k: cast(v) for k, v in params.items()}, tuple(acts), np.dtype(dtype)


def chapter_network(output="sigmoid", m=40, seed=0, n_x=2, n_h=4):
    """A small two-layer network in the chapter's shapes, for the bad-input tests."""
    rng = np.random.default_rng(seed)
    n_y = 1 if output == "sigmoid" else 3
    X = rng.normal(size=(n_x, m))
    Y = (rng.random((1, m)) < 0.5).astype(float) if n_y == 1 else np.eye(n_y)[:, rng.integers(0, n_y, m)]
    params = nnfast.init_parameters([n_x, n_h, n_y], ["tanh", output], seed=seed)
    return X, Y, params, ("tanh", output)


def assert_trained_close(res, ref, params, dtype, optimizer):
    """The compiled run's parameters against the reference's, relative to the distance the
    run moved them: Adam and RMSprop divide by √v, so where a gradient is ~0 a rounding
    difference of g is a difference of α-sized steps. In float32 the adaptive rules
    amplify rounding where a gradient is near ε (g/(√v + ε) with g ~ 1e-8 swings with
    every last bit of g): there a quarter of the distance moved."""
    loose = 0.25 if optimizer in ("rmsprop", "adam", "adamw") else 5e-2
    bound = loose if dtype == np.float32 else 1e-6
    for key in ref.parameters:
        assert res.parameters[key].dtype == dtype
        moved = float(np.max(np.abs(ref.parameters[key].astype(np.float64) - params[key])))
        scale = max(moved, float(np.max(np.abs(params[key]))) * (1e-3 if dtype == np.float32 else 1e-6))
        err = float(np.max(np.abs(res.parameters[key].astype(np.float64) - ref.parameters[key])))
        assert err <= bound * scale, (key, err, scale)
