"""sample_weight and class_weight: a weighted mean of the losses, scikit-learn's semantics."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import nnfast

from _strategies import assert_trained_close, networks


def _data(m=60, seed=0, classes=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(4, m))
    y = rng.integers(0, classes, m)
    return X, np.eye(classes)[:, y], y


@pytest.mark.parametrize("backend", ["compiled", "reference"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_integer_weights_equal_repeated_examples(backend, optimizer):
    """Full batch, weights 1, 2 or 3: the weighted mean of the losses is the plain mean over
    the data with each example repeated that many times, so both runs take the same steps."""
    X, Y, _ = _data()
    w = np.random.default_rng(1).integers(1, 4, X.shape[1])
    Xr, Yr = np.repeat(X, w, axis=1), np.repeat(Y, w, axis=1)
    params = nnfast.init_parameters([4, 7, 3], ["tanh", "softmax"], seed=2)
    kw = dict(learning_rate=0.1, num_iterations=20, parameters=params, optimizer=optimizer, backend=backend)
    weighted = nnfast.train(X, Y, [4, 7, 3], ["tanh", "softmax"], sample_weight=w, **kw)
    repeated = nnfast.train(Xr, Yr, [4, 7, 3], ["tanh", "softmax"], **kw)
    np.testing.assert_allclose(weighted.costs, repeated.costs, rtol=1e-11)
    for key in params:
        np.testing.assert_allclose(weighted.parameters[key], repeated.parameters[key], rtol=1e-9, atol=1e-12)


def test_balanced_class_weight_is_scikit_learns_rule():
    X, Y, y = _data(m=90)
    y[:50] = 0  # unbalanced classes
    Y = np.eye(3)[:, y]
    counts = np.bincount(y, minlength=3)
    expected = 90 / (3 * counts[y])
    kw = dict(learning_rate=0.1, epochs=3, batch_size=16, seed=0)
    a = nnfast.train(X, Y, [4, 5, 3], ["relu", "softmax"], class_weight="balanced", **kw)
    b = nnfast.train(X, Y, [4, 5, 3], ["relu", "softmax"], sample_weight=expected, **kw)
    c = nnfast.train(X, Y, [4, 5, 3], ["relu", "softmax"], class_weight={0: 0.5, 2: 3.0}, sample_weight=np.full(90, 2.0), **kw)
    d = nnfast.train(X, Y, [4, 5, 3], ["relu", "softmax"], sample_weight=2.0 * np.array([0.5, 1.0, 3.0])[y], **kw)
    for key in a.parameters:
        np.testing.assert_allclose(a.parameters[key], b.parameters[key], rtol=1e-12)
        np.testing.assert_allclose(c.parameters[key], d.parameters[key], rtol=1e-12)


def test_class_weight_of_a_single_sigmoid_unit():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3, 50))
    y = (rng.random(50) < 0.2).astype(float)
    kw = dict(learning_rate=0.1, num_iterations=5, seed=0)
    a = nnfast.train(X, y[None, :], [3, 4, 1], ["tanh", "sigmoid"], class_weight={1: 4.0}, **kw)
    b = nnfast.train(X, y[None, :], [3, 4, 1], ["tanh", "sigmoid"], sample_weight=np.where(y == 1, 4.0, 1.0), **kw)
    np.testing.assert_allclose(a.costs, b.costs, rtol=1e-12)


@pytest.mark.parametrize("threads", [1, 2])
@given(net=networks(max_layers=3, max_width=9, max_m=120), batch=st.integers(1, 130), seed=st.integers(0, 99),
       optimizer=st.sampled_from(["sgd", "momentum", "adam"]))
def test_weighted_compiled_matches_reference(threads, net, batch, seed, optimizer):
    X, Y, params, acts, dtype = net
    dims = [X.shape[0]] + [params[f"W{l}"].shape[0] for l in range(1, len(acts) + 1)]
    w = np.random.default_rng(seed).uniform(0.1, 3.0, X.shape[1])
    kw = dict(learning_rate=0.01, epochs=2, batch_size=batch, seed=seed, parameters=params, sample_weight=w,
              optimizer=optimizer, l2=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = nnfast.train(X, Y, dims, acts, backend="reference", **kw)
        res = nnfast.train(X, Y, dims, acts, threads=threads, **kw)
    assume(np.isfinite(ref.costs).all() and max(np.max(np.abs(v)) for v in ref.parameters.values()) < 1e3)
    rtol = 2e-3 if dtype == np.float32 else 1e-8
    np.testing.assert_allclose(res.costs, ref.costs, rtol=rtol, atol=rtol * float(np.max(np.abs(ref.costs))))
    assert_trained_close(res, ref, params, dtype, optimizer)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"sample_weight": np.ones(59)}, ValueError, r"sample_weight must be 1-D with one weight per example, shape \(60,\)"),
    ({"sample_weight": np.ones((60, 1))}, ValueError, "sample_weight must be 1-D"),
    ({"sample_weight": np.r_[np.ones(59), 0.0]}, ValueError, "finite numbers > 0"),
    ({"sample_weight": np.r_[np.ones(59), -1.0]}, ValueError, "finite numbers > 0"),
    ({"sample_weight": np.r_[np.ones(59), np.nan]}, ValueError, "sample_weight"),
    ({"sample_weight": ["a"] * 60}, TypeError, "sample_weight"),
    ({"class_weight": "uniform"}, ValueError, "class_weight must be 'balanced' or a dict"),
    ({"class_weight": [1, 2, 3]}, TypeError, "class_weight must be None"),
    ({"class_weight": {3: 1.0}}, ValueError, r"class_weight keys must be classes 0..2"),
    ({"class_weight": {0: 0.0}}, ValueError, r"class_weight\[0\] must be a finite number > 0"),
])
def test_bad_weights(kwargs, error, match):
    X, Y, _ = _data()
    with pytest.raises(error, match=match):
        nnfast.train(X, Y, [4, 5, 3], ["relu", "softmax"], learning_rate=0.1, num_iterations=1, **kwargs)


def test_class_weight_needs_classes():
    X, _, _ = _data()
    with pytest.raises(ValueError, match="class_weight needs classes"):
        nnfast.train(X, np.zeros((2, 60)), [4, 5, 2], ["relu", "identity"], learning_rate=0.1, num_iterations=1,
                     class_weight="balanced")


def test_weighted_l2_gradient_by_finite_differences():
    """One full-batch SGD step moves θ by -α·∇J; ∇J of the weighted cost with the L2 penalty,
    J = Σ w_i L_i / Σ w_i + (λ/2m)·Σ‖W‖², by central differences of J written out here
    (NumPy forward pass), for every parameter of a small network."""
    rng = np.random.default_rng(8)
    X = rng.normal(size=(3, 25))
    y = rng.integers(0, 3, 25)
    Y = np.eye(3)[:, y]
    w = rng.uniform(0.2, 2.0, 25)
    l2, lr = 0.3, 1e-3
    dims, acts = [3, 4, 3], ["tanh", "softmax"]
    params = nnfast.init_parameters(dims, acts, seed=4)

    def J(p):
        Z1 = p["W1"] @ X + p["b1"]
        Z2 = p["W2"] @ np.tanh(Z1) + p["b2"]
        logp = Z2 - Z2.max(axis=0) - np.log(np.exp(Z2 - Z2.max(axis=0)).sum(axis=0))
        losses = -logp[y, np.arange(25)]
        return np.sum(w * losses) / np.sum(w) + l2 / (2 * 25) * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))

    for backend in ("compiled", "reference"):
        step = nnfast.train(X, Y, dims, acts, learning_rate=lr, num_iterations=1, parameters=params,
                            sample_weight=w, l2=l2, backend=backend)
        assert step.costs[0] == pytest.approx(J(params), rel=1e-12)
        for key in params:
            grad = (params[key] - step.parameters[key]) / lr
            numeric = np.zeros_like(params[key])
            for index in np.ndindex(params[key].shape):
                h = 1e-6
                up = {k: v.copy() for k, v in params.items()}
                down = {k: v.copy() for k, v in params.items()}
                up[key][index] += h
                down[key][index] -= h
                numeric[index] = (J(up) - J(down)) / (2 * h)
            np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9, err_msg=f"{backend} {key}")
