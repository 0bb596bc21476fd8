"""Bad input gets a clear ValueError/TypeError naming the argument, before any kernel runs;
good input in any memory layout gives the same answer; the caller's arrays are never modified."""

import numpy as np
import pytest

import nnfast
from nnfast import compiled, reference

from _strategies import chapter_network

X, Y, P, ACTS = chapter_network()
Xs, Ys, Ps, ACTSs = chapter_network("softmax")
DIMS = [2, 4, 1]


def with_(params, **changes):
    out = dict(params)
    for key, value in changes.items():
        if value is None:
            out.pop(key)
        else:
            out[key] = value
    return out


def bad(a, idx, value):
    a = np.array(a, dtype=float)
    a[idx] = value
    return a


def train(**kw):
    args = dict(X=X, Y=Y, layer_dims=DIMS, activations=ACTS, learning_rate=0.1, num_iterations=2)
    args.update(kw)
    return lambda backend: nnfast.train(backend=backend, **args)


def grads(**kw):
    args = dict(X=X, Y=Y, parameters=P, activations=ACTS)
    args.update(kw)
    return lambda backend: nnfast.gradients(backend=backend, **args)


def pred(**kw):
    args = dict(parameters=P, X=X, activations=ACTS)
    args.update(kw)
    return lambda backend: nnfast.predict(backend=backend, **args)


CASES = [
    # --- shapes between X, Y, layer_dims and parameters
    (train(X=X[:1]), ValueError, r"X must have n_x = 2 rows"),
    (train(X=X.T), ValueError, r"X must have n_x = 2 rows.*transposed"),
    (train(Y=Y[:, :-1]), ValueError, r"same number of examples"),
    (train(Y=np.vstack([Y, Y])), ValueError, r"Y must have n_y = 1 rows"),
    (train(layer_dims=[3, 4, 1], parameters=P), ValueError, r"W1.*\(4, 3\).*layer_dims"),
    (train(layer_dims=[2, 4, 1, 1], activations=("tanh", "tanh", "sigmoid"), parameters=P), ValueError,
     r"parameters has 2 layer\(s\) but layer_dims"),
    (grads(parameters=with_(P, W2=P["W2"].T)), ValueError, r"parameters\['W2'\] must have n\[1\] = 4 columns.*\(4, 1\) \(transposed\?\)"),
    (grads(parameters=with_(P, b1=P["b1"].ravel())), ValueError, r"parameters\['b1'\].*\(4, 1\).*reshape"),
    (grads(parameters=with_(P, W1=P["W1"].T)), ValueError, r"b1'\] must have shape \(n\[1\], 1\) = \(2, 1\)"),
    (grads(parameters=with_(P, b2=None)), ValueError, r"parameters is missing b2"),
    (grads(parameters=with_(P, W3=np.ones((1, 1)))), ValueError, r"missing b3"),
    (grads(parameters=with_(P, w1=np.ones((1, 1)))), ValueError, r"unexpected key 'w1'"),
    (grads(parameters={}), ValueError, r"parameters is empty"),
    (grads(parameters=[P["W1"], P["b1"]]), TypeError, r"parameters must be a dict"),
    (grads(parameters=with_(P, W1=np.ones((4, 2, 1)))), ValueError, r"W1'\] must be a 2-D array"),
    # --- non-finite values
    (grads(X=bad(X, (1, 3), np.nan)), ValueError, r"X must be finite.*index \(1, 3\)"),
    (grads(X=bad(X, (0, 0), np.inf)), ValueError, r"X must be finite"),
    (grads(Y=bad(Y, (0, 2), np.nan)), ValueError, r"Y must be finite"),
    (grads(parameters=with_(P, W2=bad(P["W2"], (0, 1), -np.inf))), ValueError, r"parameters\['W2'\] must be finite"),
    (grads(parameters=with_(P, b1=bad(P["b1"], (2, 0), np.nan))), ValueError, r"parameters\['b1'\] must be finite"),
    # --- labels
    (grads(Y=bad(Y, (0, 4), 0.5)), ValueError, r"Y must hold 0/1 labels for a sigmoid output layer; got 0.5"),
    (grads(Y=bad(Y, (0, 4), 2)), ValueError, r"0/1 labels"),
    (lambda b: nnfast.gradients(Xs, bad(Ys, (0, 3), 0.5), Ps, ACTSs, backend=b), ValueError, r"one-hot.*column 3"),
    (lambda b: nnfast.gradients(Xs, np.zeros_like(Ys), Ps, ACTSs, backend=b), ValueError, r"one-hot"),
    (lambda b: nnfast.gradients(Xs, Ys + np.eye(3)[:, [0] * Ys.shape[1]], Ps, ACTSs, backend=b), ValueError, r"one-hot"),
    # --- activations
    (train(activations=("tanh", "sigmod")), ValueError, r"activations\[1\] \(layer 2\) must be one of .*'sigmod'"),
    (train(activations=("tanh",)), ValueError, r"one name per layer: expected 2.*got 1"),
    (train(activations=("tanh", "tanh", "sigmoid")), ValueError, r"expected 2"),
    (train(activations="tanh"), TypeError, r"activations must be a sequence"),
    (train(activations=("softmax", "sigmoid")), ValueError, r"hidden layer 1.*softmax"),
    (train(activations=("tanh", "relu")), ValueError, r"output layer.*sigmoid.*softmax.*identity.*'relu'"),
    (train(activations=("tanh", 3)), ValueError, r"activations\[1\]"),
    # --- learning rate and counts
    (train(learning_rate=0), ValueError, r"learning_rate must be a finite number > 0; got 0"),
    (train(learning_rate=-0.5), ValueError, r"learning_rate"),
    (train(learning_rate=float("nan")), ValueError, r"learning_rate"),
    (train(learning_rate=float("inf")), ValueError, r"learning_rate"),
    (train(learning_rate="0.1"), TypeError, r"learning_rate must be a positive real number"),
    (train(num_iterations=-1), ValueError, r"num_iterations must be >= 0; got -1"),
    (train(num_iterations=2.5), ValueError, r"num_iterations must be a whole number; got 2.5"),
    (train(num_iterations="10"), TypeError, r"num_iterations must be a whole number"),
    (train(num_iterations=None), TypeError, r"needs num_iterations"),
    (train(num_iterations=None, batch_size=8), TypeError, r"needs epochs"),
    (train(num_iterations=None, batch_size=0, epochs=1), ValueError, r"batch_size must be >= 1"),
    (train(num_iterations=None, batch_size=8, epochs=-2), ValueError, r"epochs must be >= 0"),
    (train(batch_size=8, epochs=2), ValueError, r"num_iterations is for full-batch"),
    (train(epochs=2), ValueError, r"epochs is for mini-batch"),
    (train(layer_dims=[2, 0, 1]), ValueError, r"layer_dims\[1\] must be >= 1"),
    (train(layer_dims=[2]), ValueError, r"layer_dims must hold the input size and at least one layer"),
    (train(layer_dims="2,4,1"), TypeError, r"layer_dims must be a sequence"),
    (lambda b: nnfast.train(X, Y, DIMS, ACTS, learning_rate=0.1, num_iterations=1, backend="gpu"), ValueError, r"backend must be one of 'compiled', 'reference'; got 'gpu'"),
    (train(dtype=np.int32), ValueError, r"dtype must be float32 or float64; got int32"),
    (train(seed="abc"), TypeError, r"seed must be None, a whole number >= 0 or a np.random.SeedSequence; got 'abc'"),
    (train(seed=-1), ValueError, r"seed must be >= 0; got -1"),
    (train(num_iterations=None, batch_size=4, epochs=1, shuffle="yes"), TypeError, r"shuffle must be True or False"),
    (train(callback=3), TypeError, r"callback must be a function"),
    (train(math="exact"), ValueError, r"math must be one of 'fast', 'libm'; got 'exact'"),
    # --- empty data, wrong dimensionality, dtypes
    (grads(X=X[:, :0], Y=Y[:, :0]), ValueError, r"X must not be empty; got shape \(2, 0\)"),
    (grads(X=X[0]), ValueError, r"X must be a 2-D array of shape \(n_x, m\); got a 1-D float64 array of shape \(40,\)"),
    (grads(X=X[:, :, None]), ValueError, r"X must be a 2-D array.*3-D"),
    (grads(Y=Y[0]), ValueError, r"Y must be a 2-D array of shape \(n_y, m\); got a 1-D"),
    (grads(X=X.astype(complex)), TypeError, r"X must be real-valued; got complex dtype complex128"),
    (grads(X=X.astype(str)), TypeError, r"X must have a numeric dtype.*<U"),
    (grads(X=X.astype(object)), TypeError, r"X must have a numeric dtype.*object"),
    (grads(X=X > 0), TypeError, r"X must have a numeric dtype.*bool"),
    (grads(X="abc"), TypeError, r"X must have a numeric dtype"),
    (grads(parameters=with_(P, W1=P["W1"].astype(complex))), TypeError, r"parameters\['W1'\] must be real-valued"),
    (pred(X=X[:1]), ValueError, r"X must have n_x = 2 rows"),
    (pred(activations=("tanh", "nope")), ValueError, r"must be one of"),
    (lambda b: nnfast.predict_proba(P, X.T, ACTS, backend=b), ValueError, r"transposed"),
    # --- found by a bad-input probe
    # finite float64 values beyond float32's range must not turn into inf in the conversion
    (train(X=X * 1e300, dtype=np.float32), ValueError, r"X must fit in float32 \(largest magnitude 3.403e\+38\); got .*e\+29\d at index \(0, 0\)"),
    (pred(X=X.astype(np.float32), parameters=with_(P, W1=P["W1"] * 1e300)), ValueError,
     r"parameters\['W1'\] must fit in float32"),
    (train(X=X.astype(np.float32), Y=np.where(Y == 1, 1 + 1e-9, 0.0)), ValueError, r"Y must hold 0/1 labels"),
    # X is checked against layer_dims before initial weights of 1e10 floats are drawn
    (train(layer_dims=[10**5, 10**5, 1], activations=ACTS), ValueError, r"X must have n_x = 100000 rows \(layer_dims\[0\]"),
    (grads(Y=None), TypeError, r"gradients\(\) needs the labels Y"),
    (lambda b: nnfast.train(X, Y, DIMS, ACTS, learning_rate=0.1, num_iterations=1, backend=[]), ValueError,
     r"backend must be one of 'compiled', 'reference'; got \[\]"),
    (train(seed=np.random.default_rng(0)), TypeError, r"seed must be None, a whole number >= 0 or a np.random.SeedSequence; got Generator"),
    (grads(X=np.ma.masked_invalid(bad(X, (0, 1), np.nan))), TypeError, r"X must be a plain array; got a masked array"),
]


@pytest.mark.parametrize("backend", ["compiled", "reference"])
@pytest.mark.parametrize("call,error,message", CASES)
def test_api_rejects_bad_input(call, error, message, backend):
    with pytest.raises(error, match=message):
        call(backend)


CHAPTER_CASES = [
    (lambda m: m.forward_propagation(X.T, P), ValueError, r"transposed"),
    (lambda m: m.forward_propagation(X, with_(P, W2=None)), ValueError, r"missing W2"),
    (lambda m: m.forward_propagation(X, P, ("tanh", "bogus")), ValueError, r"must be one of"),
    (lambda m: m.backward_propagation(P, {"Z1": m.forward_propagation(X, P)[1]["Z1"]}, X, Y), ValueError,
     r"cache is missing 'A1'"),
    (lambda m: m.backward_propagation(P, [], X, Y), TypeError, r"cache must be the dict"),
    (lambda m: m.backward_propagation(P, {**m.forward_propagation(X, P)[1], "A1": np.ones((3, 40))}, X, Y),
     ValueError, r"cache\['A1'\] must have shape \(n\[1\], m\) = \(4, 40\); got \(3, 40\)"),
    (lambda m: m.backward_propagation(P, m.forward_propagation(X, P)[1], X, bad(Y, (0, 0), 3)), ValueError, r"0/1"),
    (lambda m: m.compute_cost(np.full((1, 5), 0.5), np.ones((1, 4))), ValueError, r"same shape"),
    (lambda m: m.compute_cost(np.full((1, 5), np.nan), np.ones((1, 5))), ValueError, r"A2 must be finite"),
    (lambda m: m.compute_cost(np.full(5, 0.5), np.ones(5)), ValueError, r"A2 must be a 2-D array"),
    (lambda m: m.compute_cost(np.full((1, 5), 1.5), np.ones((1, 5))), ValueError, r"A2 must hold probabilities in \[0, 1\]"),
    (lambda m: m.compute_cost(np.full((1, 5), 0.5), np.full((1, 5), 0.5)), ValueError, r"Y must hold 0/1 labels"),
    (lambda m: m.compute_cost(np.full((3, 5), 0.3), np.ones((3, 5))), ValueError, r"one-hot"),
    (lambda m: m.update_parameters(P, {"dW1": P["W1"]}), ValueError, r"grads is missing 'db1'"),
    (lambda m: m.update_parameters(P, {**{"d" + k: v for k, v in P.items()}, "dW1": P["W1"].T}), ValueError,
     r"grads\['dW1'\] must have the shape of parameters\['W1'\]"),
    (lambda m: m.update_parameters(P, {"d" + k: v for k, v in P.items()}, learning_rate=-1), ValueError,
     r"learning_rate"),
    (lambda m: m.update_parameters(P, None), TypeError, r"grads must be a dict"),
    (lambda m: m.nn_model(X, Y, 4, num_iterations=-5), ValueError, r"num_iterations must be >= 0"),
    (lambda m: m.nn_model(X, Y, 4, num_iterations=10.5), ValueError, r"whole number"),
    (lambda m: m.nn_model(X, Y, 0), ValueError, r"n_h must be >= 1"),
    (lambda m: m.nn_model(X, Y, 4, learning_rate=0), ValueError, r"learning_rate"),
    (lambda m: m.nn_model(X, Y[:, :-1], 4), ValueError, r"same number of examples"),
    (lambda m: m.nn_model(X, bad(Y, (0, 1), 0.3), 4), ValueError, r"0/1 labels"),
    (lambda m: m.nn_model(X, Y, 4, hidden_activation="softmax"), ValueError, r"hidden layer 1"),
    (lambda m: m.nn_model(X[0], Y, 4), ValueError, r"X must be a 2-D array"),
    (lambda m: m.nn_model(X[:0], Y, 4), ValueError, r"X must not be empty; got shape \(0, 40\)"),
    (lambda m: m.nn_model(X, Y, 4, num_iterations=1, print_cost="no"), TypeError, r"print_cost must be True or False"),
    (lambda m: m.linear_forward(X.astype(np.float32), P["W1"] * 1e300, P["b1"]), ValueError, r"W must fit in float32"),
    (lambda m: m.update_parameters(with_(P, W1=P["W1"].astype(np.float32)), {"d" + k: v * 1e300 for k, v in P.items()}),
     ValueError, r"grads\['dW1'\] must fit in float32"),
    (lambda m: m.predict(P, X[:, :0]), ValueError, r"X must not be empty"),
    (lambda m: m.linear_forward(X, P["W1"].T, P["b1"]), ValueError, r"W must have n\[l-1\] = 2 columns.*transposed"),
    (lambda m: m.linear_forward(X, np.ones((4, 3)), P["b1"]), ValueError, r"W must have n\[l-1\] = 2 columns"),
    (lambda m: m.linear_forward(X, P["W1"], P["b1"][:2]), ValueError, r"b must have shape \(n\[l\], 1\) = \(4, 1\)"),
    (lambda m: m.linear_forward(X[0], P["W1"], P["b1"]), ValueError, r"A_prev must be a 2-D array"),
    (lambda m: m.linear_forward(X, P["W1"].astype(complex), P["b1"]), TypeError, r"W must be real-valued"),
    (lambda m: m.linear_backward(np.ones((4, 40)), X, bad(P["W1"], (0, 0), np.nan)), ValueError, r"W must be finite"),
    (lambda m: m.linear_backward(np.ones((3, 40)), X, P["W1"]), ValueError, r"dZ must have shape"),
    (lambda m: m.sigmoid(np.array([1 + 2j])), TypeError, r"Z must be real-valued"),
    (lambda m: m.tanh(np.array(["a"])), TypeError, r"Z must have a numeric dtype"),
    (lambda m: m.softmax(np.array([None, 1])), TypeError, r"Z must have a numeric dtype"),
    (lambda m: m.softmax(np.zeros((0, 3))), ValueError, r"Z must have at least one class"),
]


@pytest.mark.parametrize("module", [compiled, reference], ids=["compiled", "reference"])
@pytest.mark.parametrize("call,error,message", CHAPTER_CASES)
def test_chapter_functions_reject_bad_input(call, error, message, module):
    with pytest.raises(error, match=message):
        call(module)


def _layouts(a):
    """The same values as C, Fortran-ordered and non-contiguous (strided) arrays."""
    F = np.asfortranarray(a)
    wide = np.zeros((a.shape[0], 2 * a.shape[1]), a.dtype)
    wide[:, ::2] = a
    return [a, F, wide[:, ::2]]


@pytest.mark.parametrize("backend", ["compiled", "reference"])
def test_any_memory_layout_gives_the_same_answer(backend):
    cost0, g0 = nnfast.gradients(X, Y, P, ACTS, backend=backend)
    for Xl in _layouts(X):
        for Wl in _layouts(P["W1"]):
            cost, g = nnfast.gradients(Xl, Y, with_(P, W1=Wl), ACTS, backend=backend)
            assert cost == cost0
            for key in g0:
                np.testing.assert_array_equal(g[key], g0[key])
    r0 = nnfast.train(X, Y, DIMS, ACTS, learning_rate=0.5, num_iterations=3, parameters=P, backend=backend)
    r1 = nnfast.train(_layouts(X)[2], np.asfortranarray(Y), DIMS, ACTS, learning_rate=0.5, num_iterations=3,
                      parameters={k: np.asfortranarray(v) for k, v in P.items()}, backend=backend)
    np.testing.assert_array_equal(r0.costs, r1.costs)


@pytest.mark.parametrize("module", [compiled, reference], ids=["compiled", "reference"])
def test_chapter_functions_accept_any_layout(module):
    A0, c0 = module.forward_propagation(X, P)
    A1, c1 = module.forward_propagation(_layouts(X)[2], {k: np.asfortranarray(v) for k, v in P.items()})
    np.testing.assert_array_equal(A0, A1)
    g0 = module.backward_propagation(P, c0, X, Y)
    g1 = module.backward_propagation(P, {k: np.asfortranarray(v) for k, v in c0.items()}, np.asfortranarray(X), Y)
    for key in g0:
        np.testing.assert_array_equal(g0[key], g1[key])
    Z = np.random.default_rng(0).normal(size=(3, 8))
    np.testing.assert_array_equal(module.softmax(Z), module.softmax(_layouts(Z)[2]))
    np.testing.assert_array_equal(module.tanh(Z.T), module.tanh(np.ascontiguousarray(Z.T)))


@pytest.mark.parametrize("module", [compiled, reference], ids=["compiled", "reference"])
def test_callers_arrays_are_never_modified(module):
    X0, Y0, P0 = X.copy(), Y.copy(), {k: v.copy() for k, v in P.items()}
    A, cache = module.forward_propagation(X, P)
    cache0 = {k: v.copy() for k, v in cache.items()}
    grads = module.backward_propagation(P, cache, X, Y)
    grads0 = {k: v.copy() for k, v in grads.items()}
    module.update_parameters(P, grads, 1.0)
    module.compute_cost(A, Y)
    module.predict(P, X)
    module.linear_backward(cache["Z1"], X, P["W1"])
    module.nn_model(X, Y, 3, num_iterations=2)
    for name in nnfast.ACTIVATIONS:
        getattr(module, name)(cache["Z1"])
    for backend in ("compiled", "reference"):
        nnfast.train(X, Y, DIMS, ACTS, learning_rate=1.0, num_iterations=3, parameters=P, backend=backend)
        nnfast.train(X, Y, DIMS, ACTS, learning_rate=1.0, epochs=2, batch_size=7, parameters=P, backend=backend)
        nnfast.gradients(X, Y, P, ACTS, backend=backend)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)
    for d, d0 in ((P, P0), (cache, cache0), (grads, grads0)):
        for key in d0:
            np.testing.assert_array_equal(d[key], d0[key])


def test_train_returns_new_arrays_not_views_of_the_input():
    r = nnfast.train(X, Y, DIMS, ACTS, learning_rate=1.0, num_iterations=0, parameters=P)
    for key in P:
        np.testing.assert_array_equal(r.parameters[key], P[key])
        assert not np.shares_memory(r.parameters[key], P[key])


def test_float32_stays_float32_and_integers_become_float64():
    r = nnfast.train(X.astype(np.float32), Y, DIMS, ACTS, learning_rate=0.5, num_iterations=2, seed=0)
    assert all(v.dtype == np.float32 for v in r.parameters.values())
    r = nnfast.train(X, Y, DIMS, ACTS, learning_rate=0.5, num_iterations=2, seed=0, dtype="float32")
    assert all(v.dtype == np.float32 for v in r.parameters.values())
    Xi = np.round(X * 10).astype(np.int64)
    r = nnfast.train(Xi, Y.astype(bool), DIMS, ACTS, learning_rate=0.5, num_iterations=2, seed=0)
    assert all(v.dtype == np.float64 for v in r.parameters.values())
    assert compiled.sigmoid(np.arange(3)).dtype == np.float64


@pytest.mark.parametrize("module", [compiled, reference], ids=["compiled", "reference"])
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix itself warns
def test_subclasses_are_used_as_plain_arrays(module):
    # np.matrix makes A * A a matrix product: the textbook functions must not see one.
    Z = np.array([[1.0, 2.0], [3.0, -4.0]])
    for name in ("tanh_derivative", "bipolar_sigmoid_derivative", "softmax", "relu"):
        f = getattr(module, name)
        np.testing.assert_array_equal(np.asarray(f(np.matrix(Z))), f(Z), err_msg=name)


def test_api_accepts_a_seed_sequence_0d_learning_rate_array_and_activations_array():
    run = lambda **kw: nnfast.train(X, Y, DIMS, **{"activations": ACTS, "learning_rate": 0.1,
                                                   "num_iterations": 3, **kw})
    a = run(seed=np.random.SeedSequence(3))
    b = run(seed=np.random.SeedSequence(3), learning_rate=np.array(0.1), activations=np.array(ACTS))
    np.testing.assert_array_equal(a.costs, b.costs)


def test_non_native_byte_order_float32_works_in_float32():
    result = nnfast.train(X.astype(">f4"), Y, DIMS, ACTS, learning_rate=0.1, num_iterations=2, seed=0)
    assert result.parameters["W1"].dtype == np.float32
