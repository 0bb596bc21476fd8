"""The NumPy reference against central finite differences (float64), and the chapter's
identities. The reference is the oracle for the compiled backend, so it is checked against
something independent of its own derivative code."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnfast
from nnfast import reference
from nnfast._activations import NAMES

from _strategies import networks

ELEMENTWISE = [name for name in NAMES if name not in ("softmax",)]
KINKS = {"relu": 0.0, "leaky_relu": 0.0, "binary_step": 0.0}


def central_difference(f, z, h):
    return (f(z + h) - f(z - h)) / (2 * h)


@pytest.mark.parametrize("name", ELEMENTWISE)
@given(z=st.floats(-30, 30))
def test_activation_derivative_matches_finite_difference(name, z):
    if name in KINKS and abs(z - KINKS[name]) < 1e-4:
        return  # not differentiable at the kink
    h = 1e-6 * max(1.0, abs(z))
    f = getattr(reference, name)
    fd = central_difference(lambda t: f(np.array([t]))[0], z, h)
    d = getattr(reference, name + "_derivative")(np.array([z]))[0]
    assert abs(d - fd) <= 1e-6 * max(1.0, abs(fd)), (name, z, d, fd)


def test_chapter_identities():
    z = np.linspace(-20, 20, 4001)
    np.testing.assert_allclose(reference.tanh(z), 2 * reference.sigmoid(2 * z) - 1, atol=1e-15)  # (6.25)
    np.testing.assert_allclose(reference.bipolar_sigmoid(z), (1 - np.exp(-z)) / (1 + np.exp(-z)), atol=1e-15)  # (6.24)
    np.testing.assert_allclose(reference.softplus_derivative(z), reference.sigmoid(z), atol=0)
    np.testing.assert_array_equal(reference.binary_step(z), reference.relu_derivative(z))


def test_softmax_of_two_classes_is_sigmoid():
    """(6.52): softmax over C = 2 reduces to the sigmoid of the difference."""
    z = np.random.default_rng(0).normal(size=(2, 50)) * 5
    np.testing.assert_allclose(reference.softmax(z)[1], reference.sigmoid(z[1] - z[0]), atol=1e-15)


@pytest.mark.parametrize("output", ["sigmoid", "softmax", "identity"])
def test_cost_gradient_wrt_logits_is_A_minus_Y_over_m(output):
    """dJ/dZ[L] = (A[L] - Y)/m for each output/cost pair (6.35, 6.56.d), by finite differences."""
    rng = np.random.default_rng(1)
    C, m = (1 if output == "sigmoid" else 4), 7
    Z = rng.normal(size=(C, m)) * 3
    Y = {"sigmoid": (rng.random((1, m)) < 0.5) * 1.0, "softmax": np.eye(C)[:, rng.integers(0, C, m)],
         "identity": rng.normal(size=(C, m))}[output]
    g = getattr(reference, output)

    def J(Z):
        return reference._cost_from_logits(Z, g(Z), Y, output)

    fd = np.zeros_like(Z)
    h = 1e-6
    for idx in np.ndindex(*Z.shape):
        e = np.zeros_like(Z)
        e[idx] = h
        fd[idx] = (J(Z + e) - J(Z - e)) / (2 * h)
    np.testing.assert_allclose(fd, (g(Z) - Y) / m, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_cost_from_probabilities_equals_cost_from_logits(output):
    rng = np.random.default_rng(2)
    C = 1 if output == "sigmoid" else 3
    Z = rng.normal(size=(C, 20)) * 4
    Y = (rng.random((1, 20)) < 0.5) * 1.0 if C == 1 else np.eye(C)[:, rng.integers(0, C, 20)]
    A = getattr(reference, output)(Z)
    assert reference.compute_cost(A, Y) == pytest.approx(reference._cost_from_logits(Z, A, Y, output), rel=1e-12)


@given(net=networks(max_layers=3, max_width=4, max_m=6))
def test_backward_propagation_matches_finite_differences(net):
    X, Y, params, acts, dtype = net
    if dtype != np.float64:
        return
    _, cache = reference.forward_propagation(X, params, acts)
    grads = reference.backward_propagation(params, cache, X, Y, acts)
    for l in range(1, len(acts)):
        if acts[l - 1] in ("relu", "leaky_relu", "binary_step") and np.min(np.abs(cache[f"Z{l}"])) < 1e-4:
            return  # too close to a kink for a finite difference
    h = 1e-6

    def J(p):
        c = reference._forward(X, [(p[f"W{l}"], p[f"b{l}"]) for l in range(1, len(acts) + 1)], acts)
        L = len(acts)
        return reference._cost_from_logits(c[f"Z{L}"], c[f"A{L}"], Y, acts[-1])

    for key, value in params.items():
        fd = np.zeros_like(value)
        for idx in np.ndindex(*value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][idx] += h
            minus[key][idx] -= h
            fd[idx] = (J(plus) - J(minus)) / (2 * h)
        np.testing.assert_allclose(grads["d" + key], fd, rtol=1e-5, atol=1e-7, err_msg=key)


def test_initialize_parameters_is_the_chapters_and_leaves_global_state_alone():
    state = np.random.get_state()
    p = reference.initialize_parameters(2, 4, 1)
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]
    # Independent derivation: the chapter's own lines under a legacy global seed.
    try:
        np.random.seed(2)
        W1 = np.random.randn(4, 2) * 0.01
        W2 = np.random.randn(1, 4) * 0.01
    finally:
        np.random.set_state(state)
    np.testing.assert_array_equal(p["W1"], W1)
    np.testing.assert_array_equal(p["W2"], W2)
    np.testing.assert_array_equal(p["b1"], np.zeros((4, 1)))
    np.testing.assert_array_equal(p["b2"], np.zeros((1, 1)))


def test_init_parameters_scaling():
    p = nnfast.init_parameters([400, 300, 1], ["relu", "sigmoid"], seed=0)
    assert np.std(p["W1"]) == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert np.std(p["W2"]) == pytest.approx(np.sqrt(1 / 300), rel=0.2)
    again = nnfast.init_parameters([400, 300, 1], ["relu", "sigmoid"], seed=0)
    np.testing.assert_array_equal(p["W1"], again["W1"])
