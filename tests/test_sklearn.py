"""nnfast.sklearn: scikit-learn's estimator checks, equality with nnfast.train called
directly, scikit-learn's semantics (initial weights, stopping rule, learning-rate schedules,
early stopping, warm_start, partial_fit), accuracy against scikit-learn's MLPClassifier,
data handling (no copy of X, float32, pandas, sparse), model selection, pickling, threads
in joblib workers and bad input."""

import base64
import dataclasses
import os
import pickle
import subprocess
import sys
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.neural_network._stochastic_optimizers import SGDOptimizer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelBinarizer, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.estimator_checks import parametrize_with_checks
from scipy.stats import loguniform
from unittest import SkipTest

import nnfast
import nnfast.sklearn as nsk
from nnfast import optimizers
from nnfast.sklearn import MLPClassifier, MLPRegressor

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _quiet_convergence():
    # Short runs stop at max_iter on purpose; the tests that are about the warning catch it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def glorot(random_state, units, dtype=np.float64, logistic=False):
    """scikit-learn's initial weights as its _init_coef draws them, written out here, in
    nnfast's layout; and the RandomState after the draws."""
    rs = np.random.RandomState(random_state)
    parameters = {}
    for l, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:]), start=1):
        bound = np.sqrt((2.0 if logistic else 6.0) / (fan_in + fan_out))
        parameters[f"W{l}"] = rs.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype).T
        parameters[f"b{l}"] = rs.uniform(-bound, bound, fan_out).astype(dtype)[:, None]
    return parameters, rs


def assert_network_equal(estimator, parameters):
    """The estimator's coefs_/intercepts_ are W.T / b of nnfast's parameters, bit for bit."""
    L = len(parameters) // 2
    assert len(estimator.coefs_) == L
    for l in range(1, L + 1):
        np.testing.assert_array_equal(estimator.coefs_[l - 1], parameters[f"W{l}"].T)
        np.testing.assert_array_equal(estimator.intercepts_[l - 1], parameters[f"b{l}"].ravel())
        assert estimator.coefs_[l - 1].dtype == parameters[f"W{l}"].dtype


def one_hot(y):
    return LabelBinarizer().fit_transform(y).T.astype(np.float64)


class Spy:
    """Replaces nnfast.sklearn's ``train`` and records every call's arguments and result
    (``costs``: each epoch's recorded cost replaced by the next of these)."""

    def __init__(self, monkeypatch, costs=None):
        self.args, self.calls, self.results, self._real = [], [], [], nsk.train
        self._costs = None if costs is None else list(costs)
        monkeypatch.setattr(nsk, "train", self)

    def __call__(self, *args, **kwargs):
        result = self._real(*args, **kwargs)
        if self._costs is not None:
            result = dataclasses.replace(result, costs=np.array([self._costs.pop(0)]))
        self.args.append(args)
        self.calls.append(kwargs)
        self.results.append(result)
        return result

    @property
    def rates(self):
        return [call["learning_rate"] for call in self.calls]


# ---------------------------------------------------------------- scikit-learn's checks

def _check_name(check):
    while isinstance(check, partial):
        check = check.func
    return check.__name__


_ARRAY_API_CHECK = """
import base64, pickle, sys, warnings
from sklearn.utils import estimator_checks
warnings.simplefilter("ignore")
estimator, keywords = pickle.loads(base64.b64decode(sys.stdin.read()))
estimator_checks.check_array_api_input(type(estimator).__name__, estimator, **keywords)
print("passed")
"""


@parametrize_with_checks([MLPClassifier(hidden_layer_sizes=(20,), max_iter=100, random_state=0),
                          MLPRegressor(hidden_layer_sizes=(20,), max_iter=100, random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    name = _check_name(check)
    if name == "check_array_api_input":
        # It needs SCIPY_ARRAY_API=1 before SciPy is imported (else it skips): run it in a
        # process that starts with it.
        payload = base64.b64encode(pickle.dumps((estimator, check.keywords))).decode()
        done = subprocess.run([sys.executable, "-c", _ARRAY_API_CHECK], input=payload, capture_output=True,
                              text=True, env={**os.environ, "SCIPY_ARRAY_API": "1"}, cwd=REPO, timeout=600)
        assert done.returncode == 0 and done.stdout.strip() == "passed", done.stderr[-3000:]
    elif name == "check_classifiers_multilabel_output_format_decision_function":
        # Like scikit-learn's MLPClassifier, there is no decision_function to check: the
        # check can only skip, and must skip for that reason.
        assert not hasattr(estimator, "decision_function")
        with pytest.raises(SkipTest, match="does not have a decision_function method"):
            check(estimator)
    else:
        check(estimator)


def test_import_nnfast_does_not_import_sklearn():
    code = "import sys, nnfast; print('sklearn' in sys.modules, 'nnfast.sklearn' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("setup, found", [
    ("sys.modules['sklearn'] = None", "scikit-learn is not installed"),
    ("sys.path.insert(0, sys.argv[1])", "scikit-learn 1.5.2 is installed"),
])
def test_import_error_without_a_recent_scikit_learn(setup, found, tmp_path):
    """Without scikit-learn, or with one older than validate_data (1.6): an ImportError
    that says which and how to install it."""
    (tmp_path / "sklearn").mkdir()
    (tmp_path / "sklearn" / "__init__.py").write_text("__version__ = '1.5.2'\n")
    code = f"import sys; {setup}\ntry:\n    import nnfast.sklearn\nexcept ImportError as e:\n    print(e)"
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, cwd=REPO,
                          timeout=300)
    assert done.stdout.strip() == (f"nnfast.sklearn needs scikit-learn >= 1.6 ({found}): "
                                   "pip install 'nnfast[sklearn]' 'scikit-learn>=1.6'"), done.stderr


# ---------------------------------------------------------------- equal to nnfast.train

@pytest.mark.parametrize("kind", ["softmax", "sigmoid", "regression-float32", "softmax-dropout"])
def test_fit_equals_one_train_call(kind, iris):
    """Without shuffling and without a stop, fit's epochs (one train call each, continued)
    equal one train call of max_iter epochs from scikit-learn's initial weights, bit for bit
    (with ``dropout``, the call's ``keep_prob = 1 - dropout``: the masks follow the epoch
    the optimizer state carries)."""
    X, y = iris
    epochs, hidden = 6, (7, 5)
    if kind == "regression-float32":
        X = X.astype(np.float32)
        Y = np.vstack([X[:, 0] * 2 + X[:, 1], X[:, 2] - X[:, 3]]).astype(np.float32)
        estimator = MLPRegressor(hidden_layer_sizes=hidden, activation="tanh", solver="sgd", momentum=0.8,
                                 nesterovs_momentum=False, learning_rate_init=0.01, alpha=0.01)
        output, rule, lr = "identity", optimizers.Momentum(momentum=0.8), 0.01
        fit_y = Y.T
    else:
        target = (y == 2).astype(int) if kind == "sigmoid" else y
        Y = one_hot(target)
        estimator = MLPClassifier(hidden_layer_sizes=hidden, beta_1=0.8, beta_2=0.99, epsilon=1e-7, alpha=0.001,
                                  learning_rate_init=0.01, dropout=0.3 if kind == "softmax-dropout" else 0.0)
        output, rule, lr = kind.split("-")[0], optimizers.Adam(beta1=0.8, beta2=0.99, eps=1e-7), 0.01
        fit_y = target
    estimator.set_params(batch_size=32, shuffle=False, max_iter=epochs, n_iter_no_change=np.inf, random_state=4)
    estimator.fit(X, fit_y)
    units = [X.shape[1], *hidden, Y.shape[0]]
    initial, _ = glorot(4, units, X.dtype)
    hidden_name = "tanh" if kind == "regression-float32" else "relu"
    expected = nnfast.train(X.T, Y, units, [hidden_name] * 2 + [output], learning_rate=lr, epochs=epochs,
                            batch_size=32, shuffle=False, parameters=initial, optimizer=rule,
                            l2=estimator.alpha, dtype=X.dtype, seed=0,
                            keep_prob=0.7 if kind == "softmax-dropout" else None)
    assert_network_equal(estimator, expected.parameters)
    assert estimator.loss_curve_ == expected.costs.tolist()
    assert estimator.loss_ == expected.costs[-1]
    assert estimator.n_iter_ == epochs and estimator.t_ == epochs * X.shape[0]
    assert estimator.best_loss_ == min(expected.costs)


def test_fit_with_shuffle_and_invscaling_equals_train_per_epoch(iris, monkeypatch):
    """Each epoch: a seed drawn from random_state after the initial weights, and
    scikit-learn's invscaling rate, which this test takes from scikit-learn's own
    SGDOptimizer after each epoch (t = samples seen)."""
    X, y = iris
    estimator = MLPClassifier(hidden_layer_sizes=(6,), solver="sgd", learning_rate="invscaling", power_t=0.4,
                              learning_rate_init=0.2, batch_size=40, max_iter=5, n_iter_no_change=np.inf,
                              random_state=9).fit(X, y)
    units = [4, 6, 3]
    parameters, rs = glorot(9, units)
    oracle = SGDOptimizer([], learning_rate_init=0.2, lr_schedule="invscaling", power_t=0.4)
    state, rates = None, []
    for epoch in range(5):
        rates.append(oracle.learning_rate)
        result = nnfast.train(X.T, one_hot(y), units, ["relu", "softmax"], learning_rate=oracle.learning_rate,
                              epochs=1, batch_size=40, seed=int(rs.randint(np.iinfo(np.int32).max)),
                              parameters=parameters, optimizer=optimizers.Nesterov(momentum=0.9), l2=1e-4,
                              optimizer_state=state)
        parameters, state = result.parameters, result.optimizer_state
        oracle.iteration_ends((epoch + 1) * X.shape[0])
    assert_network_equal(estimator, parameters)
    assert rates[1] == 0.2 / (150 + 1) ** 0.4 and rates[0] == 0.2  # the oracle's formula, spelled out
    spy = Spy(monkeypatch)
    clone(estimator).fit(X, y)
    assert spy.rates == rates


def test_initial_weights_are_scikit_learns(iris):
    """With a rate too small to move any weight, one epoch leaves scikit-learn's initial
    weights, and both libraries leave the same ones for the same random_state."""
    X, y = iris
    for activation in ("relu", "logistic"):
        settings = dict(hidden_layer_sizes=(5, 4), activation=activation, learning_rate_init=1e-300, max_iter=1,
                        random_state=3)
        ours, theirs = MLPClassifier(**settings).fit(X, y), SkMLPClassifier(**settings).fit(X, y)
        expected, _ = glorot(3, [4, 5, 4, 3], logistic=activation == "logistic")
        assert_network_equal(ours, expected)
        for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- scikit-learn's rules

def test_stopping_rule_is_scikit_learns(iris, monkeypatch):
    """best_loss_ follows every fall, while only a fall of more than tol resets the count:
    with these losses scikit-learn stops after epoch 4 (a rule that kept the best only on
    a fall of more than tol, like train's patience, would reset at 0.88)."""
    X, y = iris
    losses = [1.0, 0.95, 0.88, 0.87, 0.86, 0.85, 0.84]
    Spy(monkeypatch, costs=losses)
    estimator = MLPClassifier(hidden_layer_sizes=(3,), tol=0.1, n_iter_no_change=2, max_iter=7,
                              random_state=0).fit(X, y)
    assert estimator.n_iter_ == 4
    assert estimator.loss_curve_ == losses[:4]
    assert estimator.best_loss_ == 0.87


def test_tol_stop_and_adaptive_rate_match_scikit_learn(iris, monkeypatch):
    """With tol larger than any loss, every epoch after the first stalls whatever the losses
    are, so the epoch at which scikit-learn stops, and its last 'adaptive' rate, can be
    compared exactly."""
    X, y = iris
    for settings in (dict(solver="adam"), dict(solver="sgd", learning_rate="adaptive", learning_rate_init=0.1)):
        settings = dict(hidden_layer_sizes=(4,), tol=100.0, n_iter_no_change=2, max_iter=200, random_state=0,
                        **settings)
        spy = Spy(monkeypatch)
        ours, theirs = MLPClassifier(**settings).fit(X, y), SkMLPClassifier(**settings).fit(X, y)
        assert ours.n_iter_ == theirs.n_iter_ < 200
        if settings["solver"] == "sgd":
            # Stalls end epochs 4, 7, 10, ...: each divides the rate by 5 until it is at most
            # 1e-6 (0.1 / 5**8 = 2.56e-7), and the next one stops the run: 4 + 3 * 8 epochs.
            assert ours.n_iter_ == 28
            assert ours._solver.learning_rate == theirs._optimizer.learning_rate == pytest.approx(0.1 / 5 ** 8)
            assert spy.rates[:4] == [0.1] * 4 and spy.rates[4:7] == [0.1 / 5] * 3
        else:
            assert ours.n_iter_ == 4 and set(spy.rates) == {0.001}


def test_convergence_warning_only_when_max_iter_is_reached(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MLPClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        stopped = MLPClassifier(hidden_layer_sizes=(3,), tol=100.0, n_iter_no_change=1, max_iter=50,
                                random_state=0).fit(X, y)
    assert stopped.n_iter_ == 3


def test_early_stopping_restores_the_best_epoch(digits, monkeypatch):
    """A stratified split drawn like scikit-learn's; train sees only its training part; the
    validation scores are the accuracy of each epoch's network on the held-out part; the
    network kept is the best epoch's."""
    X, y = digits
    X, y = X[:600], y[:600]
    splits, spy = [], Spy(monkeypatch)
    real_split = nsk.train_test_split

    def recording_split(*args, **kwargs):
        splits.append((real_split(*args, **kwargs), kwargs))
        return splits[-1][0]

    monkeypatch.setattr(nsk, "train_test_split", recording_split)
    estimator = MLPClassifier(hidden_layer_sizes=(16,), early_stopping=True, validation_fraction=0.2,
                              n_iter_no_change=3, learning_rate_init=0.02, max_iter=60, random_state=1).fit(X, y)
    (X_train, X_val, Y_train, Y_val), kwargs = splits[0]
    # The split is drawn from the RandomState after the initial weights, as scikit-learn's.
    _, rs = glorot(1, [64, 16, 10])
    expected = real_split(X, LabelBinarizer().fit_transform(y), random_state=rs, test_size=0.2,
                          stratify=LabelBinarizer().fit_transform(y))
    np.testing.assert_array_equal(expected[1], X_val)
    # Stratified: each class's share of the validation set is its share of y, to one example.
    assert np.all(np.abs(Y_val.sum(axis=0) - np.bincount(y) * 0.2) <= 1) and X_val.shape[0] == 120
    for args in spy.args:
        np.testing.assert_array_equal(args[0].T, X_train)
    assert estimator.n_iter_ == len(spy.results) == len(estimator.validation_scores_) < 60
    scores = [np.mean(nnfast.predict(result.parameters, X_val.T, ["relu", "softmax"]) == Y_val.argmax(axis=1))
              for result in spy.results]
    assert estimator.validation_scores_ == scores
    best = int(np.argmax(scores))
    assert estimator.best_validation_score_ == scores[best] and estimator.best_loss_ is None
    assert_network_equal(estimator, spy.results[best].parameters)
    # The stop: n_iter_no_change + 1 epochs in a row without a gain of tol over the best.
    assert all(score < scores[best] + estimator.tol for score in scores[-4:])


def test_partial_fit_continues_the_optimizer(iris):
    """Three partial_fit calls are three epochs of one run: the same as fit(max_iter=3)."""
    X, y = iris
    settings = dict(hidden_layer_sizes=(5,), shuffle=False, batch_size=50, random_state=0)
    incremental = MLPClassifier(**settings)
    with pytest.raises(ValueError, match="classes must be passed on the first call to partial_fit"):
        incremental.partial_fit(X, y)
    for _ in range(3):
        incremental.partial_fit(X, y, classes=[0, 1, 2])
    whole = MLPClassifier(**settings, max_iter=3, n_iter_no_change=np.inf).fit(X, y)
    for a, b in zip(incremental.coefs_ + incremental.intercepts_, whole.coefs_ + whole.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert incremental.loss_curve_ == whole.loss_curve_
    assert incremental.n_iter_ == 1 and incremental.t_ == 3 * len(y)
    # A batch need not hold every class; predict_proba still has one column per class.
    first = MLPClassifier(**settings).partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert first.predict_proba(X).shape == (150, 3) and list(first.classes_) == [0, 1, 2]
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        MLPClassifier(**settings).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    regressor = MLPRegressor(hidden_layer_sizes=(5,), shuffle=False, random_state=0)
    for _ in range(2):
        regressor.partial_fit(X[:, :3], X[:, 3])
    whole = MLPRegressor(hidden_layer_sizes=(5,), shuffle=False, random_state=0, max_iter=2).fit(X[:, :3], X[:, 3])
    np.testing.assert_array_equal(regressor.predict(X[:, :3]), whole.predict(X[:, :3]))


def test_warm_start(iris):
    """warm_start continues from the weights with a fresh optimizer, as scikit-learn."""
    X, y = iris
    settings = dict(hidden_layer_sizes=(5,), shuffle=False, n_iter_no_change=np.inf, random_state=0)
    warm = MLPClassifier(**settings, max_iter=2, warm_start=True).fit(X, y)
    after_two = {f"W{l}": c.T for l, c in enumerate(warm.coefs_, 1)}
    after_two.update({f"b{l}": b[:, None] for l, b in enumerate(warm.intercepts_, 1)})
    warm.set_params(max_iter=3).fit(X, y)
    expected = nnfast.train(X.T, one_hot(y), [4, 5, 3], ["relu", "softmax"], learning_rate=0.001, epochs=3,
                            batch_size=150, shuffle=False, parameters=after_two, optimizer="adam", l2=1e-4)
    assert_network_equal(warm, expected.parameters)
    assert warm.n_iter_ == 3 and warm.t_ == 5 * 150 and len(warm.loss_curve_) == 5
    cold = MLPClassifier(**settings, max_iter=2).fit(X, y).set_params(max_iter=3).fit(X, y)
    fresh = MLPClassifier(**settings, max_iter=3).fit(X, y)
    for a, b in zip(cold.coefs_, fresh.coefs_):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same classes"):
        warm.fit(X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match=r"the fitted network has layer sizes \[4, 5, 3\], but "
                                         r"hidden_layer_sizes=\[6\] .* call for \[4, 6, 3\]"):
        warm.set_params(hidden_layer_sizes=(6,)).fit(X, y)


def test_weights_follow_scikit_learns_conventions(iris):
    """class_weight='balanced' is scikit-learn's compute_class_weight multiplied into the
    weights; a dict is keyed by class label; scaling every weight by c acts like alpha / c
    (scikit-learn divides the L2 term by the weights' sum: checked on scikit-learn too)."""
    X, y = iris
    X, y = X[:120], y[:120]  # unbalanced: 50, 50, 20
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    settings = dict(hidden_layer_sizes=(5,), shuffle=False, max_iter=5, n_iter_no_change=np.inf, random_state=0)
    balanced = MLPClassifier(**settings, class_weight="balanced").fit(X, labels)
    per_class = compute_class_weight("balanced", classes=np.unique(labels), y=labels)
    weighted = MLPClassifier(**settings).fit(X, labels, sample_weight=per_class[y])
    np.testing.assert_array_equal(balanced.predict_proba(X), weighted.predict_proba(X))
    by_label = MLPClassifier(**settings, class_weight={"virginica": 3.0}).fit(X, labels)
    by_weight = MLPClassifier(**settings).fit(X, labels, sample_weight=np.where(y == 2, 3.0, 1.0))
    np.testing.assert_array_equal(by_label.predict_proba(X), by_weight.predict_proba(X))
    full = dict(hidden_layer_sizes=(5,), shuffle=False, max_iter=5, n_iter_no_change=np.inf, random_state=0,
                alpha=0.5, batch_size=120)
    for cls in (MLPRegressor, SkMLPRegressor):
        doubled = cls(**full).fit(X[:, :3], X[:, 3], sample_weight=np.full(120, 4.0))
        quarter = cls(**{**full, "alpha": 0.125}).fit(X[:, :3], X[:, 3])
        np.testing.assert_allclose(doubled.predict(X[:, :3]), quarter.predict(X[:, :3]), rtol=1e-10)


def test_verbose_prints_each_epoch(iris, capsys):
    X, y = iris
    estimator = MLPClassifier(hidden_layer_sizes=(3,), max_iter=4, verbose=True, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"Iteration {i}, loss = {loss:.8f}" for i, loss in enumerate(estimator.loss_curve_, 1)]


def test_batch_size_larger_than_the_data_is_clipped(iris, monkeypatch):
    X, y = iris
    spy = Spy(monkeypatch)
    with pytest.warns(UserWarning, match="It is going to be clipped"):
        MLPClassifier(hidden_layer_sizes=(3,), batch_size=1000, max_iter=1).fit(X, y)
    assert spy.calls[0]["batch_size"] == 150


# ---------------------------------------------------------------- outputs

def test_outputs_binary_multiclass_multilabel_multioutput(iris):
    X, y = iris
    binary = MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(X, np.where(y == 0, "a", "b"))
    assert binary.n_outputs_ == 1 and binary.out_activation_ == "logistic" and binary.coefs_[-1].shape == (5, 1)
    proba = binary.predict_proba(X)
    assert proba.shape == (150, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(binary.predict(X), np.where(proba[:, 1] > 0.5, "b", "a"))
    multiclass = MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(X, y)
    assert multiclass.n_outputs_ == 3 and multiclass.out_activation_ == "softmax"
    np.testing.assert_array_equal(multiclass.predict(X), multiclass.predict_proba(X).argmax(axis=1))
    np.testing.assert_allclose(multiclass.predict_log_proba(X), np.log(multiclass.predict_proba(X)), rtol=1e-12)
    labels = np.stack([y == 0, y == 1, X[:, 0] > 0], axis=1).astype(int)
    multilabel = MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(X, labels)
    assert multilabel.n_outputs_ == 3 and multilabel.out_activation_ == "logistic"
    assert multilabel.predict(X).shape == (150, 3)
    np.testing.assert_array_equal(multilabel.predict(X), (multilabel.predict_proba(X) > 0.5).astype(int))
    targets = np.stack([X[:, 0] + X[:, 1], X[:, 2]], axis=1)
    regressor = MLPRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(X, targets)
    assert regressor.n_outputs_ == 2 and regressor.out_activation_ == "identity"
    assert regressor.predict(X).shape == (150, 2)
    single = MLPRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(X, targets[:, 0])
    assert single.predict(X).shape == (150,)
    assert single.n_layers_ == 3 and single.n_features_in_ == 4


def test_accuracy_matches_scikit_learn_on_digits(digits):
    """The same 64-64 adam network and hyperparameters, 4 seeds: mean test accuracy within
    0.5 percentage points of scikit-learn's (measured here: nnfast 97.39%, scikit-learn
    97.53% over 8 seeds; per seed the two differed by at most 0.67 points)."""
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    ours, theirs = [], []
    for seed in range(4):
        ours.append(MLPClassifier((64, 64), random_state=seed).fit(X_train, y_train).score(X_test, y_test))
        theirs.append(SkMLPClassifier((64, 64), random_state=seed).fit(X_train, y_train).score(X_test, y_test))
    assert min(ours) > 0.95
    assert abs(np.mean(ours) - np.mean(theirs)) <= 0.005, (ours, theirs)


# ---------------------------------------------------------------- data

@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_X_reaches_the_kernels_in_place(order, dtype, iris, monkeypatch):
    """The array the compiled backend trains and predicts on is the caller's X, transposed
    as a view: no copy on the way (and the caller's X is left as it was)."""
    X = np.array(iris[0], dtype=dtype, order=order)
    before = X.copy()
    seen = []
    for name in ("_gradient_descent", "_forward_output"):
        real = getattr(nnfast.compiled, name)

        def recording(X_kernel, *args, _real=real, **kwargs):
            seen.append(X_kernel)
            return _real(X_kernel, *args, **kwargs)

        monkeypatch.setattr(nnfast.compiled, name, recording)
    estimator = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, iris[1])
    estimator.predict(X)
    assert len(seen) == 3  # two epochs, one prediction
    for X_kernel in seen:
        assert X_kernel.shape == (4, 150) and X_kernel.dtype == dtype
        assert X_kernel.ctypes.data == X.ctypes.data and np.shares_memory(X_kernel, X)
    assert all(c.dtype == dtype for c in estimator.coefs_ + estimator.intercepts_)
    assert estimator.predict_proba(X).dtype == dtype
    np.testing.assert_array_equal(X, before)


def test_dtype_parameter(iris):
    X, y = iris
    as32 = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, dtype="float32", random_state=0).fit(X, y)
    assert as32.coefs_[0].dtype == np.float32 and as32.predict_proba(X).dtype == np.float32
    as64 = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, dtype=np.float64, random_state=0).fit(
        X.astype(np.float32), y)
    assert as64.coefs_[0].dtype == np.float64
    ints = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit((X * 10).astype(np.int64), y)
    assert ints.coefs_[0].dtype == np.float64


def test_pandas_feature_names(iris, monkeypatch):
    X, y = iris
    frame = pd.DataFrame(X.astype(np.float32), columns=["a", "b", "c", "d"])
    seen, real = [], nnfast.compiled._gradient_descent

    def recording(X_kernel, *args, **kwargs):
        seen.append(X_kernel)
        return real(X_kernel, *args, **kwargs)

    monkeypatch.setattr(nnfast.compiled, "_gradient_descent", recording)
    estimator = MLPClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0).fit(frame, pd.Series(y))
    # The frame's own float32 block reaches the kernels, one example per column, uncopied.
    assert all(np.shares_memory(X_kernel, frame.to_numpy()) and X_kernel.shape == (4, 150) for X_kernel in seen)
    assert list(estimator.feature_names_in_) == ["a", "b", "c", "d"] and estimator.n_features_in_ == 4
    assert estimator.coefs_[0].dtype == np.float32
    from_array = MLPClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0).fit(X.astype(np.float32), y)
    np.testing.assert_array_equal(estimator.predict_proba(frame), from_array.predict_proba(X.astype(np.float32)))
    with pytest.raises(ValueError, match="The feature names should match those that were passed during fit"):
        estimator.predict(frame.rename(columns={"a": "z"}))
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        estimator.predict(X.astype(np.float32))


def test_sparse_input_is_refused(iris):
    X, y = iris
    with pytest.raises(TypeError, match="Sparse data was passed for X, but dense data is required"):
        MLPClassifier(max_iter=1).fit(scipy.sparse.csr_matrix(X), y)
    fitted = MLPRegressor(hidden_layer_sizes=(3,), max_iter=1).fit(X, y)
    with pytest.raises(TypeError, match="dense data is required"):
        fitted.predict(scipy.sparse.csr_array(X))


# ---------------------------------------------------------------- model selection, pickling

def test_pipeline_search_and_cross_validation(iris):
    X, y = iris
    base = MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=100, random_state=0)
    pipeline = make_pipeline(StandardScaler(), base).fit(X, y)
    assert pipeline.score(X, y) > 0.9
    scores = cross_val_score(base, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.8
    grid = GridSearchCV(base, {"hidden_layer_sizes": [(4,), (8,)], "alpha": [1e-4, 1e-2]}, cv=3).fit(X, y)
    again = clone(base).set_params(**grid.best_params_).fit(X, y)
    np.testing.assert_array_equal(grid.best_estimator_.predict_proba(X), again.predict_proba(X))
    search = RandomizedSearchCV(MLPRegressor(hidden_layer_sizes=(4,), max_iter=20, random_state=0),
                                {"alpha": loguniform(1e-5, 1e-1)}, n_iter=3, cv=3, random_state=0)
    search.fit(X[:, :3], X[:, 3])
    assert len(search.cv_results_["params"]) == 3
    copy = clone(base)
    assert copy.get_params() == base.get_params() and not hasattr(copy, "coefs_")


def test_pickle_round_trip(iris):
    X, y = iris
    estimator = MLPClassifier(hidden_layer_sizes=(5, 3), max_iter=5, random_state=0).fit(X.astype(np.float32), y)
    restored = pickle.loads(pickle.dumps(estimator))
    for a, b in zip(estimator.coefs_ + estimator.intercepts_, restored.coefs_ + restored.intercepts_):
        assert a.dtype == b.dtype == np.float32 and a.tobytes() == b.tobytes()
    np.testing.assert_array_equal(restored.classes_, estimator.classes_)
    assert restored.loss_curve_ == estimator.loss_curve_ and restored.t_ == estimator.t_
    np.testing.assert_array_equal(restored.predict_proba(X), estimator.predict_proba(X))
    # The optimizer's state comes along: both continue alike.
    estimator.partial_fit(X.astype(np.float32), y)
    restored.partial_fit(X.astype(np.float32), y)
    for a, b in zip(estimator.coefs_, restored.coefs_):
        np.testing.assert_array_equal(a, b)


class ThreadsSeen(MLPClassifier):
    """Records the thread count nnfast's compiled backend reads while this fit trains, and
    the process it ran in."""

    def fit(self, X, y, sample_weight=None):
        seen, real = set(), nnfast.compiled._gradient_descent

        def recording(*args, **kwargs):
            seen.add(nnfast._threads.current())
            return real(*args, **kwargs)

        nnfast.compiled._gradient_descent = recording
        try:
            super().fit(X, y, sample_weight)
        finally:
            nnfast.compiled._gradient_descent = real
        (self.threads_seen_,) = seen
        self.pid_ = os.getpid()
        return self


def _threads_seen(estimator, X, y):
    return estimator.threads_seen_


def _pid(estimator, X, y):
    return estimator.pid_


def test_grid_search_workers_use_their_share_of_the_cores(iris):
    """GridSearchCV(n_jobs=2): joblib's loky workers limit their threads to cpu_count // 2,
    and nnfast's default follows; threads= still overrides it."""
    import joblib
    X, y = iris
    search = GridSearchCV(ThreadsSeen(hidden_layer_sizes=(3,), max_iter=2), {"threads": [None, 3]}, cv=2,
                          n_jobs=2, scoring={"threads": _threads_seen, "pid": _pid}, refit=False).fit(X, y)
    results = search.cv_results_
    assert all(pid != os.getpid() for pid in np.ravel([results[f"split{i}_test_pid"] for i in range(2)]))
    share = max(1, joblib.cpu_count() // 2)
    assert [results[f"split{i}_test_threads"][0] for i in range(2)] == [share, share]
    assert [results[f"split{i}_test_threads"][1] for i in range(2)] == [3, 3]
    # In this process, without the workers' limits, the same fit uses this process's count.
    assert ThreadsSeen(hidden_layer_sizes=(3,), max_iter=1).fit(X, y).threads_seen_ == nnfast._threads.current()


# ---------------------------------------------------------------- bad input

def test_not_fitted(iris):
    for estimator in (MLPClassifier(), MLPRegressor()):
        with pytest.raises(NotFittedError):
            estimator.predict(iris[0])
    with pytest.raises(NotFittedError):
        MLPClassifier().predict_proba(iris[0])


@pytest.mark.parametrize("params, error, message", [
    (dict(solver="lbfgs"), ValueError, "solver='lbfgs' is not supported by nnfast.sklearn"),
    (dict(solver="newton"), InvalidParameterError, "The 'solver' parameter of MLPClassifier must be"),
    (dict(activation="softmax"), InvalidParameterError, "The 'activation' parameter"),
    (dict(alpha=-1.0), InvalidParameterError, "The 'alpha' parameter"),
    (dict(momentum=1.0), InvalidParameterError, r"The 'momentum' parameter .* range \[0.0, 1.0\)"),
    (dict(batch_size=0), InvalidParameterError, "The 'batch_size' parameter"),
    (dict(max_iter=0), InvalidParameterError, "The 'max_iter' parameter"),
    (dict(hidden_layer_sizes=[3, 0]), ValueError, r"hidden_layer_sizes must be > 0, got \[3, 0\]"),
    (dict(dtype="float16"), InvalidParameterError, "The 'dtype' parameter"),
    (dict(threads=0), InvalidParameterError, "The 'threads' parameter"),
    (dict(dropout=1.0), InvalidParameterError, r"The 'dropout' parameter .* range \[0.0, 1.0\)"),
    (dict(class_weight="auto"), InvalidParameterError, "The 'class_weight' parameter"),
    (dict(class_weight={7: 2.0}), ValueError, r"class_weight has labels that are not classes: \[7\]"),
])
def test_bad_parameters(params, error, message, iris):
    with pytest.raises(error, match=message):
        MLPClassifier(**{"max_iter": 1, **params}).fit(*iris)


def test_bad_regressor_parameters(iris):
    with pytest.raises(ValueError, match="loss='poisson' is not supported by nnfast.sklearn"):
        MLPRegressor(loss="poisson").fit(iris[0], iris[1])
    with pytest.raises(InvalidParameterError, match="The 'loss' parameter of MLPRegressor"):
        MLPRegressor(loss="absolute_error").fit(iris[0], iris[1])
    with pytest.raises(ValueError, match="The validation set is too small"):
        MLPRegressor(early_stopping=True, validation_fraction=0.005).fit(iris[0], iris[1])


def test_bad_data(iris):
    X, y = iris
    fitted = MLPClassifier(hidden_layer_sizes=(3,), max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4 features"):
        fitted.predict(X[:, :3])
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        MLPClassifier(max_iter=1).fit(bad, y)
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        MLPClassifier(max_iter=1).fit(X, y, sample_weight=np.full(150, -1.0))
    with pytest.raises(ValueError, match="class_weight is for single-output classification"):
        MLPClassifier(max_iter=1, class_weight={0: 2.0}).fit(X, np.stack([y == 0, y == 1], axis=1).astype(int))
    with pytest.raises(ValueError, match="class_weight='balanced' is not supported by partial_fit"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier(max_iter=1).fit(X, X[:, 0])
    # nnfast's train warns as the run diverges; the estimator then raises scikit-learn's error.
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"), \
            pytest.warns(RuntimeWarning, match="training diverged"):
        MLPRegressor(hidden_layer_sizes=(3,), solver="sgd", learning_rate_init=1e6, max_iter=5).fit(
            X * 1e30, y * 1e30)
