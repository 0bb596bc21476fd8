"""Validation sets, the history and early stopping (``train``'s validation=,
validation_fraction=, patience=, min_delta=)."""

import numpy as np
import pytest

import nnfast
from nnfast import reference


def _data(seed=0, m=240, noise=0.25):
    """Two noisy classes in 5 dimensions; a quarter of the labels flipped, so a network
    with enough units and a large step overfits and the validation cost turns up."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(5, m))
    y = (X[0] + 0.5 * X[1] > 0).astype(int)
    flip = rng.random(m) < noise
    y[flip] = 1 - y[flip]
    return X, np.eye(2)[:, y]


def _metrics(params, X, Y):
    """Cost and accuracy of a softmax network, from the reference's forward pass."""
    AL, _ = reference.forward_propagation(X, params, ["relu", "softmax"])
    cost = -np.sum(Y * np.log(AL)) / Y.shape[1]
    return cost, np.mean(np.argmax(AL, axis=0) == np.argmax(Y, axis=0))


@pytest.mark.parametrize("backend", ["compiled", "reference"])
def test_history_records_the_validation_set_every_epoch(backend):
    X, Y = _data()
    X_val, Y_val = _data(seed=1, m=80)
    res = nnfast.train(X, Y, [5, 12, 2], ["relu", "softmax"], learning_rate=0.1, epochs=6, batch_size=32, seed=0,
                       validation=(X_val, Y_val), backend=backend, schedule="step")
    h = res.history
    assert list(h["epoch"]) == [1, 2, 3, 4, 5, 6]
    np.testing.assert_array_equal(h["cost"], res.costs)
    np.testing.assert_allclose(h["learning_rate"], 0.1 * np.ones(6))  # step decay: every 10 epochs
    cost, accuracy = _metrics(res.parameters, X_val, Y_val)          # the last epoch's, from scratch
    assert h["val_cost"][-1] == pytest.approx(cost, rel=1e-9)
    assert h["val_accuracy"][-1] == pytest.approx(accuracy)
    assert np.isfinite(h["val_cost"]).all() and ((0 <= h["val_accuracy"]) & (h["val_accuracy"] <= 1)).all()


def test_both_backends_give_the_same_history():
    X, Y = _data()
    kw = dict(learning_rate=0.1, epochs=5, batch_size=40, seed=3, validation_fraction=0.2, optimizer="adam")
    a = nnfast.train(X, Y, [5, 12, 2], ["relu", "softmax"], **kw)
    b = nnfast.train(X, Y, [5, 12, 2], ["relu", "softmax"], backend="reference", **kw)
    for key in a.history:
        np.testing.assert_allclose(a.history[key], b.history[key], rtol=1e-9, err_msg=key)


def test_validation_fraction_holds_out_examples_without_training_on_them():
    """Training with validation_fraction equals training on the complement given
    explicitly (the split drawn from the seed as train documents: its third stream)."""
    X, Y = _data(m=200)
    seed = 7
    split = np.random.SeedSequence(seed).spawn(3)[2]
    perm = np.random.default_rng(split).permutation(200)
    val_idx, train_idx = np.sort(perm[:50]), np.sort(perm[50:])
    params = nnfast.init_parameters([5, 8, 2], ["relu", "softmax"], seed=1)
    kw = dict(learning_rate=0.2, num_iterations=30, parameters=params)
    held = nnfast.train(X, Y, [5, 8, 2], ["relu", "softmax"], validation_fraction=0.25, seed=seed, **kw)
    given = nnfast.train(X[:, train_idx], Y[:, train_idx], [5, 8, 2], ["relu", "softmax"], seed=seed,
                         validation=(X[:, val_idx], Y[:, val_idx]), **kw)
    for key in held.parameters:
        np.testing.assert_allclose(held.parameters[key], given.parameters[key], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(held.history["val_cost"], given.history["val_cost"], rtol=1e-12)


@pytest.mark.parametrize("backend", ["compiled", "reference"])
def test_early_stopping_returns_the_best_epoch(backend):
    """The validation cost turns up; with patience 3 the run stops 3 epochs after its best
    epoch and returns that epoch's parameters (checked by training exactly that long)."""
    X, Y = _data(m=120, noise=0.3)
    X_val, Y_val = _data(seed=5, m=200, noise=0.3)
    kw = dict(learning_rate=0.05, batch_size=8, seed=2, optimizer="adam", backend=backend)
    res = nnfast.train(X, Y, [5, 64, 2], ["relu", "softmax"], epochs=200, validation=(X_val, Y_val),
                       patience=3, **kw)
    val = res.history["val_cost"]
    best = int(np.argmin(val))
    assert len(res.costs) == best + 1 + 3 < 200
    assert all(v >= val[best] for v in val[best + 1:])
    again = nnfast.train(X, Y, [5, 64, 2], ["relu", "softmax"], epochs=200, **kw)
    shorter = nnfast.train(X, Y, [5, 64, 2], ["relu", "softmax"], epochs=best + 1, **kw)
    for key in res.parameters:
        np.testing.assert_array_equal(res.parameters[key], shorter.parameters[key])
    assert len(again.costs) == 200  # without patience: every epoch


def test_min_delta_and_training_cost_without_a_validation_set():
    """patience alone watches the training cost; a min_delta larger than any epoch's gain
    stops after exactly patience epochs past the first."""
    X, Y = _data()
    res = nnfast.train(X, Y, [5, 8, 2], ["relu", "softmax"], learning_rate=0.01, epochs=50, batch_size=60,
                       seed=0, patience=4, min_delta=10.0)
    assert len(res.costs) == 5 and "val_cost" not in res.history


@pytest.mark.parametrize("kwargs, error, match", [
    ({"validation_fraction": 0.2, "validation": "x"}, ValueError, "not both"),
    ({"validation_fraction": 0.0}, ValueError, r"validation_fraction must be in \(0, 1\)"),
    ({"validation_fraction": 1.0}, ValueError, r"validation_fraction must be in \(0, 1\)"),
    ({"validation_fraction": 0.001}, ValueError, "at least one example"),
    ({"validation_fraction": "0.2"}, TypeError, "validation_fraction must be a number"),
    ({"validation": (np.zeros((4, 10)),)}, TypeError, "validation must be a pair"),
    ({"validation": (np.zeros((4, 10)), np.zeros((2, 10)))}, ValueError, r"validation\[0\] must have n_x = 5"),
    ({"validation": (np.zeros((5, 10)), np.zeros((2, 9)))}, ValueError,
     r"validation\[0\] and validation\[1\] must have the same number of examples"),
    ({"validation": (np.full((5, 10), np.nan), np.zeros((2, 10)))}, ValueError, r"validation\[0\]"),
    ({"patience": 0}, ValueError, "patience"),
    ({"patience": 2.5}, ValueError, "patience must be a whole number"),
    ({"min_delta": -1.0}, ValueError, "min_delta must be a finite number >= 0"),
])
def test_bad_validation_arguments(kwargs, error, match):
    X, Y = _data(m=100)
    with pytest.raises(error, match=match):
        nnfast.train(X, Y, [5, 4, 2], ["relu", "softmax"], learning_rate=0.1, epochs=2, batch_size=10, **kwargs)
