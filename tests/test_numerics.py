"""No overflow warnings, NaN or infinite costs from saturated sigmoid/softmax/log, in either backend."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnfast
from nnfast import compiled, reference

BACKENDS = [compiled, reference]
HUGE = np.array([-1e308, -1e5, -800.0, -710.0, -40.0, -1e-300, -0.0, 0.0, 1e-300, 40.0, 710.0, 800.0, 1e5, 1e308])


@pytest.fixture(autouse=True)
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("module", BACKENDS, ids=["compiled", "reference"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_activations_saturate_without_warnings(module, dtype):
    z = HUGE.astype(dtype) if dtype == np.float64 else np.clip(HUGE, -3e38, 3e38).astype(dtype)
    for name in nnfast.ACTIVATIONS:
        a = getattr(module, name)(z if name != "softmax" else z[:, None])
        assert not np.isnan(a).any(), name
        if name != "softmax":
            d = getattr(module, name + "_derivative")(z)
            assert np.isfinite(d).all(), name
    s = module.sigmoid(z)
    assert s[0] == 0 and s[-1] == 1 and np.all((s >= 0) & (s <= 1))
    assert np.all(np.abs(module.tanh(z)) <= 1) and np.all(np.abs(module.bipolar_sigmoid(z)) <= 1)
    assert np.isfinite(module.softplus(z)).all() or dtype == np.float32  # softplus(3e38) is finite too
    inf = np.array([-np.inf, np.inf], dtype)
    np.testing.assert_array_equal(module.sigmoid(inf), [0, 1])
    np.testing.assert_array_equal(module.tanh(inf), [-1, 1])


@pytest.mark.parametrize("module", BACKENDS, ids=["compiled", "reference"])
def test_softmax_is_stable_where_the_chapters_overflows(module):
    Z = np.array([[1000.0, -1000.0], [1001.0, -999.0], [999.0, -1001.0]])
    A = module.softmax(Z)
    e = np.exp([0.0, 1.0, -1.0])
    np.testing.assert_allclose(A[:, 0], e / e.sum(), rtol=1e-14)
    np.testing.assert_allclose(A[:, 1], e / e.sum(), rtol=1e-14)
    with pytest.raises(RuntimeWarning):  # the chapter's version, for the record
        t = np.exp(Z)
        t / np.sum(t, axis=0)


@pytest.mark.parametrize("module", BACKENDS, ids=["compiled", "reference"])
def test_compute_cost_is_finite_for_saturated_probabilities(module):
    A = np.array([[0.0, 1.0, 1.0, 0.0, 0.5]])
    Y = np.array([[1.0, 0.0, 1.0, 0.0, 1.0]])
    cost = module.compute_cost(A, Y)
    assert np.isfinite(cost) and cost > 0
    A3 = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    assert np.isfinite(module.compute_cost(A3, np.eye(3)[:, [2, 1]]))


@pytest.mark.parametrize("backend", ["compiled", "reference"])
@pytest.mark.parametrize("output", ["sigmoid", "softmax", "identity"])
@given(scale=st.sampled_from([1e2, 1e4, 1e8, 1e15]), seed=st.integers(0, 1000))
def test_costs_and_gradients_finite_for_huge_logits(backend, output, scale, seed):
    rng = np.random.default_rng(seed)
    C = 1 if output == "sigmoid" else 3
    X = rng.normal(size=(3, 20)) * scale
    Y = (rng.random((1, 20)) < 0.5) * 1.0 if C == 1 else np.eye(C)[:, rng.integers(0, C, 20)]
    if output == "identity":
        Y = rng.normal(size=(C, 20))
    acts = ("tanh", output)
    params = nnfast.init_parameters([3, 4, C], acts, seed=seed)
    params["W2"] = params["W2"] * scale
    cost, grads = nnfast.gradients(X, Y, params, acts, backend=backend)
    if output != "identity":  # the squared error of a 1e15 prediction may overflow by design
        assert np.isfinite(cost)
        assert all(np.isfinite(g).all() for g in grads.values())
    r = nnfast.train(X, Y, [3, 4, C], acts, learning_rate=1e-30, num_iterations=2, parameters=params, backend=backend)
    assert not np.isnan(r.costs).any()


def test_exact_sigmoid_cost_from_logits():
    """For a logit z = 50 and y = 0 the loss is softplus(50) ≈ 50, not log(tiny)."""
    X = np.array([[1.0]])
    p = {"W1": np.array([[50.0]]), "b1": np.zeros((1, 1))}
    for backend in ("compiled", "reference"):
        cost, _ = nnfast.gradients(X, np.array([[0.0]]), p, ("sigmoid",), backend=backend)
        assert cost == pytest.approx(50.0 + np.log1p(np.exp(-50.0)), rel=1e-15)


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "libm"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_and_softplus_at_infinity_and_nan(fast, dtype):
    """relu(-inf) = softplus(-inf) = 0 and NaN stays NaN, as NumPy's maximum/logaddexp give
    (z * 0 or max(z, z * 0) would make -inf a NaN). The kernels directly, both math modes."""
    from nnfast._activations import CODES
    from nnfast._kernels.activations import activation_forward
    z = np.array([-np.inf, -1.0, np.inf, np.nan], dtype)
    with np.errstate(invalid="ignore"):
        expected = {"relu": np.maximum(z, 0), "softplus": np.logaddexp(z, 0)}
    for name, want in expected.items():
        a = np.empty_like(z)
        activation_forward(CODES[name], z, a, fast)
        np.testing.assert_allclose(a, want, rtol=1e-6, err_msg=name)


@pytest.mark.parametrize("backend", ["compiled", "reference"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_costs_finite_for_logits_at_the_ends_of_the_float_range(backend, dtype):
    big = np.finfo(dtype).max
    X = np.ones((1, 4), dtype)
    # softmax with logits (big, -big): lse - z of the unlabelled class overflows to inf,
    # and 0 * inf must not make the cost NaN; the labelled class's loss is exactly 0.
    p = {"W1": np.zeros((2, 1), dtype), "b1": np.array([[big], [-big]], dtype)}
    cost, grads = nnfast.gradients(X, np.array([[1.0] * 4, [0.0] * 4], dtype), p, ("softmax",), backend=backend)
    assert cost == 0 and all(np.isfinite(g).all() for g in grads.values())
    # sigmoid with logit -big and label 1: each loss is big. Summed in float64 by both
    # backends, so the float32 mean over 4 examples is big, not inf.
    m = 4 if dtype == np.float32 else 1  # float64: a sum of several losses of ~1.8e308 is inf
    p = {"W1": np.zeros((1, 1), dtype), "b1": np.array([[-big]], dtype)}
    cost, _ = nnfast.gradients(X[:, :m], np.ones((1, m), dtype), p, ("sigmoid",), backend=backend)
    assert cost == pytest.approx(float(big), rel=1e-6)


@pytest.mark.parametrize("backend,math", [("compiled", "fast"), ("compiled", "libm"), ("reference", None)])
@pytest.mark.parametrize("dtype,z", [(np.float64, 40.0), (np.float64, 700.0), (np.float32, 10.0), (np.float32, 80.0)])
def test_tiny_losses_of_confident_right_answers_are_accurate(backend, math, dtype, z):
    """softplus(z) - y·z and lse - z_k cancel to 0 (or to 1% off in float32) when the
    right answer has a large logit; the true loss is log1p(exp(-z)) in both cases."""
    want = np.log1p(np.exp(-z))  # float64, independent of nnfast
    X = np.ones((1, 3), dtype)
    sig = {"W1": np.array([[z]], dtype), "b1": np.zeros((1, 1), dtype)}
    cost, _ = nnfast.gradients(X, np.ones((1, 3), dtype), sig, ("sigmoid",), backend=backend, math=math)
    assert cost == pytest.approx(want, rel=float(4 * np.finfo(dtype).eps), abs=0)
    soft = {"W1": np.array([[z], [0.0]], dtype), "b1": np.zeros((2, 1), dtype)}
    Y = np.array([[1.0] * 3, [0.0] * 3], dtype)
    cost, _ = nnfast.gradients(X, Y, soft, ("softmax",), backend=backend, math=math)
    assert cost == pytest.approx(want, rel=float(4 * np.finfo(dtype).eps), abs=0)


@pytest.mark.parametrize("module", BACKENDS, ids=["compiled", "reference"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bipolar_sigmoid_derivative_keeps_its_tail(module, dtype):
    """(1 - g(z)^2)/2 is 0 once g(z) rounds to +-1; the derivative is 2e^-|z| there."""
    z = np.array([-60.0, -20.0, -0.5, 0.0, 3.0, 20.0, 60.0])
    want = [2 * np.exp(-abs(v)) / (1 + np.exp(-abs(v))) ** 2 for v in z]  # float64
    got = module.bipolar_sigmoid_derivative(z.astype(dtype))
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps, atol=0)
    # Through backpropagation: 1-1-1 bipolar_sigmoid/identity at x = -20, the torch
    # oracle's case. dW1 = g(-20) g'(-20) x (dZ2 = A2 - Y = g(-20), W2 = 1).
    p = {"W1": np.ones((1, 1), dtype), "b1": np.zeros((1, 1), dtype),
         "W2": np.ones((1, 1), dtype), "b2": np.zeros((1, 1), dtype)}
    backend = "compiled" if module is compiled else "reference"
    _, grads = nnfast.gradients(np.full((1, 1), -20.0, dtype), np.zeros((1, 1), dtype), p,
                                ("bipolar_sigmoid", "identity"), backend=backend)
    want_dW1 = np.tanh(-10.0) * want[1] * -20.0
    assert grads["dW1"][0, 0] == pytest.approx(want_dW1, rel=float(8 * np.finfo(dtype).eps))
