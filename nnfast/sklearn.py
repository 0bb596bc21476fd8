"""scikit-learn estimators trained by nnfast's kernels: ``MLPClassifier`` and ``MLPRegressor``.

Switch from scikit-learn by changing one import (the xgboost.sklearn / lightgbm.sklearn
pattern)::

    from nnfast.sklearn import MLPClassifier     # was: from sklearn.neural_network import ...

The constructor parameters, fitted attributes, methods, errors and the training loop
(epochs of mini-batches, the ``tol`` / ``n_iter_no_change`` stopping rule, ``adaptive`` and
``invscaling`` rates, early stopping on the validation score, ``warm_start``,
``partial_fit``) are scikit-learn's, read from ``sklearn/neural_network/
_multilayer_perceptron.py`` and ``_stochastic_optimizers.py`` of scikit-learn 1.9. Each
epoch is one ``nnfast.train(X.T, ...)`` call that continues the previous one (its
``parameters`` and ``optimizer_state``), so the decisions scikit-learn takes between epochs
are taken here in the same way. Where the update rules differ (nnfast's are PyTorch's),
the estimators' docstrings say exactly how; the README's "scikit-learn" section sums it up.

Needs scikit-learn >= 1.6 (``pip install "nnfast[sklearn]"``); ``import nnfast`` does not
import this module.
"""

import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state, column_or_1d
    from sklearn.utils._param_validation import Interval, Options, StrOptions
    from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
except ImportError as error:  # scikit-learn missing, or older than validate_data (1.6)
    try:
        import sklearn as _found
        found = f"scikit-learn {_found.__version__} is installed"
    except ImportError:
        found = "scikit-learn is not installed"
    raise ImportError(f"nnfast.sklearn needs scikit-learn >= 1.6 ({found}): "
                      f"pip install 'nnfast[sklearn]' 'scikit-learn>=1.6'") from error

from . import optimizers
from ._activations import HIDDEN
from ._validate import example_weights
from .api import predict_proba, train

__all__ = ["MLPClassifier", "MLPRegressor"]

#: Hidden activations: scikit-learn's names, then nnfast's own (binary_step is left out:
#: its derivative is zero, so no layer before it would learn).
_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
                **{name: name for name in HIDDEN if name != "binary_step"}}

#: scikit-learn's output activation names (``out_activation_``) -> nnfast's.
_OUTPUTS = {"logistic": "sigmoid", "softmax": "softmax", "identity": "identity"}

#: scikit-learn's learning rate floor of the 'adaptive' schedule: at or below it, the next
#: stall stops the run instead of dividing the rate by 5 again.
_ADAPTIVE_FLOOR = 1e-6


@dataclass
class _Solver:
    """What scikit-learn keeps in its ``_optimizer`` between epochs and ``partial_fit``
    calls: the update rule (an ``nnfast.optimizers`` instance), the learning-rate schedule
    and where both stand (the current rate, ``TrainResult.optimizer_state``)."""

    rule: object
    learning_rate_init: float
    schedule: str
    power_t: float
    learning_rate: float
    state: dict = None

    def iteration_ends(self, time_step):
        """After an epoch; ``time_step`` = samples seen so far (scikit-learn's ``t_``)."""
        if self.schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg, verbose):
        """After ``n_iter_no_change`` stalled epochs: stop (True), or for 'adaptive' divide
        the rate by 5 and go on (False) until it is at most 1e-6."""
        if self.schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= _ADAPTIVE_FLOOR:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


def _store_params(estimator, values):
    """``__init__``'s arguments as attributes of the same names, nothing else (scikit-learn's
    contract for ``get_params``/``clone``)."""
    for name, value in values.items():
        if name != "self":
            setattr(estimator, name, value)


class _BaseMLP(BaseEstimator):
    """The training loop, prediction and checks shared by ``MLPClassifier`` and
    ``MLPRegressor``. Subclasses define ``__init__`` (scikit-learn reads the parameters
    from its signature), ``_validate_input``, ``_output``, ``_validation_target``,
    ``_score``, ``_class_weight_indices`` and ``_stratify``."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_ACTIVATIONS))],
        # lbfgs passes this check and is refused in fit with its own message.
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        # [0, 1): nnfast's momentum rules need mu < 1 (scikit-learn also takes 1).
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dtype": [None, StrOptions({"float32", "float64"}), Options(type, {np.float32, np.float64})],
        "threads": [None, Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    # ---- parameters -> nnfast's arguments

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if np.any(np.array(sizes) <= 0):
            raise ValueError("hidden_layer_sizes must be > 0, got %s." % sizes)
        return [int(n) for n in sizes]

    def _input_dtype(self):
        """``validate_data``'s dtype: float32 and float64 kept, the rest made float64 (or
        the ``dtype`` parameter's)."""
        return (np.float64, np.float32) if self.dtype is None else np.dtype(self.dtype)

    def _new_solver(self):
        """A fresh optimizer for ``solver`` (scikit-learn makes one per ``fit``, and keeps it
        across ``partial_fit`` calls)."""
        if self.solver == "adam":
            rule = optimizers.Adam(beta1=self.beta_1, beta2=self.beta_2, eps=self.epsilon)
            schedule = "constant"  # scikit-learn's adam ignores learning_rate
        else:
            if self.momentum == 0:
                rule = optimizers.SGD()
            elif self.nesterovs_momentum:
                rule = optimizers.Nesterov(momentum=self.momentum)
            else:
                rule = optimizers.Momentum(momentum=self.momentum)
            schedule = self.learning_rate
        return _Solver(rule, float(self.learning_rate_init), schedule, float(self.power_t),
                       float(self.learning_rate_init))

    def _check_solver(self):
        if self.solver == "lbfgs":
            raise ValueError("solver='lbfgs' is not supported by nnfast.sklearn: nnfast trains by "
                             "mini-batch gradient descent; use solver='adam' or 'sgd' (or "
                             "sklearn.neural_network for L-BFGS)")

    # ---- the network as nnfast holds it

    def _network(self):
        """``coefs_`` and ``intercepts_`` as nnfast's ``{W1, b1, ...}`` (views: W[l] =
        coefs_[l-1].T, b[l] = intercepts_[l-1] as a column)."""
        parameters = {}
        for l, (coef, intercept) in enumerate(zip(self.coefs_, self.intercepts_), start=1):
            parameters[f"W{l}"] = coef.T
            parameters[f"b{l}"] = intercept.reshape(-1, 1)
        return parameters

    def _set_network(self, parameters):
        """``coefs_``/``intercepts_`` from nnfast's parameters, as views of them."""
        L = self.n_layers_ - 1
        self.coefs_ = [parameters[f"W{l}"].T for l in range(1, L + 1)]
        self.intercepts_ = [parameters[f"b{l}"].reshape(-1) for l in range(1, L + 1)]

    def _activation_names(self):
        return (_ACTIVATIONS[self.activation],) * (self.n_layers_ - 2) + (_OUTPUTS[self.out_activation_],)

    def _initialize(self, n_outputs, layer_units, dtype, random_state):
        """First fit: the attributes of an untrained network, weights as scikit-learn draws
        them (Glorot-uniform, bound sqrt(6 / (fan_in + fan_out)), 2 instead of 6 for
        logistic, biases from the same interval; from ``random_state`` in scikit-learn's
        order, so the same ``random_state`` gives scikit-learn's initial weights)."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output()
        factor = 2.0 if _ACTIVATIONS[self.activation] == "sigmoid" else 6.0
        self.coefs_, self.intercepts_ = [], []
        for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
            bound = np.sqrt(factor / (fan_in + fan_out))
            self.coefs_.append(random_state.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False))
            self.intercepts_.append(random_state.uniform(-bound, bound, fan_out).astype(dtype, copy=False))
        self._best_network = self._network()
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = [], -np.inf, None
        else:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = None, None, np.inf

    # ---- training

    def _fit(self, X, y, sample_weight, incremental):
        self._check_solver()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        hidden = self._hidden_sizes()
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        n_samples, n_features = X.shape
        if sample_weight is not None:
            # Zero weights are allowed (those examples are left out below), negative ones not.
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        Y = y.reshape(n_samples, -1)  # one row per example; nnfast gets its transpose
        layer_units = [n_features, *hidden, Y.shape[1]]
        random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(Y.shape[1], layer_units, X.dtype, random_state)
        elif (fitted := [c.shape[0] for c in self.coefs_] + [self.coefs_[-1].shape[1]]) != layer_units:
            raise ValueError(f"the fitted network has layer sizes {fitted}, but hidden_layer_sizes={hidden} and "
                             f"y ({Y.shape[1]} output(s)) call for {layer_units}; refit without warm_start to "
                             f"change them")
        if not incremental or getattr(self, "_solver", None) is None:
            self._solver = self._new_solver()
        self._fit_stochastic(X, Y, sample_weight, layer_units, random_state, incremental)
        return self

    def _fit_stochastic(self, X, Y, sample_weight, layer_units, random_state, incremental):
        if self.early_stopping:
            # scikit-learn's split, from the same random_state; stratified for single-output
            # classification (scikit-learn 1.9 stratifies binary targets only). The parts
            # are copies, as there.
            parts = train_test_split(X, Y, *(() if sample_weight is None else (sample_weight,)),
                                     random_state=random_state, test_size=self.validation_fraction,
                                     stratify=self._stratify(Y))
            X_train, X_val, Y_train, Y_val = parts[:4]
            sw_train, sw_val = parts[4:] if sample_weight is not None else (None, None)
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                                 "or the size of your dataset.")
            y_val = self._validation_target(Y_val)
        else:
            X_train, Y_train, sw_train = X, Y, sample_weight
            X_val = y_val = sw_val = None
        if sw_train is not None and not (sw_train > 0).all():
            # nnfast takes weights > 0: a zero-weight example only changes how the batches
            # are cut, so it is dropped (rows copied; X is used in place otherwise).
            keep = sw_train > 0
            X_train, Y_train, sw_train = X_train[keep], Y_train[keep], sw_train[keep]
        n_samples = X_train.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        activations = self._activation_names()
        # Y as nnfast wants it, (n_outputs, m) in X's dtype, converted once for all epochs.
        Y_cols = np.ascontiguousarray(Y_train.T, dtype=X.dtype)
        weights = example_weights(sw_train, self._class_weight_indices(incremental), Y_cols, activations[-1],
                                  np.float64)
        # scikit-learn's L2 term is alpha/(2 sum w) ||W||^2 and nnfast's l2/(2 m_batch) ||W||^2:
        # the same when l2 = alpha m / sum w (for every batch whose mean weight is the whole
        # set's; unweighted, l2 = alpha).
        l2 = self.alpha if weights is None else self.alpha * n_samples / weights.sum()
        solver, network = self._solver, self._network()
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                result = train(X_train.T, Y_cols, layer_units, activations, learning_rate=solver.learning_rate,
                               epochs=1, batch_size=batch_size, shuffle=self.shuffle, parameters=network,
                               seed=int(random_state.randint(np.iinfo(np.int32).max)) if self.shuffle else 0,
                               dtype=X.dtype, threads=self.threads, optimizer=solver.rule, l2=l2,
                               optimizer_state=solver.state, sample_weight=weights,
                               keep_prob=1.0 - self.dropout if self.dropout and len(layer_units) > 2 else None)
                network, solver.state = result.parameters, result.optimizer_state
                if not all(np.isfinite(a).all() for a in network.values()):
                    # scikit-learn finishes max_iter epochs and then raises this; nnfast's
                    # train refuses non-finite parameters, so the run ends here.
                    raise ValueError("Solver produced non-finite parameter weights. The input data may"
                                     " contain large values and need to be preprocessed.")
                self._set_network(network)
                self.n_iter_ += 1
                self.loss_ = float(result.costs[0])
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                self._update_no_improvement_count(X_val, y_val, sw_val)
                solver.iteration_ends(self.t_)
                if self._no_improvement_count > self.n_iter_no_change:
                    if self.early_stopping:
                        msg = ("Validation score did not improve more than tol=%f for %d consecutive epochs."
                               % (self.tol, self.n_iter_no_change))
                    else:
                        msg = ("Training loss did not improve more than tol=%f for %d consecutive epochs."
                               % (self.tol, self.n_iter_no_change))
                    if solver.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and the optimization "
                                  "hasn't converged yet." % self.max_iter, ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        if self.early_stopping:
            self._set_network(self._best_network)

    def _update_no_improvement_count(self, X_val, y_val, sw_val):
        """scikit-learn's stopping bookkeeping after an epoch: the validation score (early
        stopping) or the training loss against the best so far, with ``tol``."""
        if self.early_stopping:
            score = self._score(X_val, y_val, sw_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print("Validation score: %f" % score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_network = self._network()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train on ``X``, ``y`` (``max_iter`` epochs at most; see the class docstring).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NumPy array, pandas DataFrame or nested lists; float32 stays float32 (unless
            ``dtype`` says otherwise), other numbers become float64. Sparse matrices are
            refused (TypeError). A C- or Fortran-contiguous float array is read in place.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (classifier; a 0/1 indicator matrix for multi-label) or targets
            (regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights: each batch's loss and gradient are weighted means.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=False)

    # ---- prediction

    def _forward(self, X, check_input=True):
        """The output layer, ``(n_samples, n_outputs)``, in X's working dtype."""
        if check_input:
            X = validate_data(self, X, reset=False, dtype=self._input_dtype())
        return predict_proba(self._network(), X.T, self._activation_names(), threads=self.threads).T

    def _score_with_function(self, X, y, sample_weight, score_function):
        """The validation score of early stopping (X already checked); NaN when the
        network's outputs are not finite, as in scikit-learn."""
        output = self._forward(X, check_input=False)
        if not np.isfinite(output).all():
            return np.nan
        return score_function(y, self._predict_from_output(output), sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


_PARAMETERS_DOC = """
    Parameters
    ----------<loss>
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        Units of each hidden layer (``()``: none).
    activation : str, default='relu'
        Hidden activation: scikit-learn's 'identity', 'logistic', 'tanh', 'relu', or one
        of nnfast's 'sigmoid' (= 'logistic'), 'leaky_relu', 'softplus',
        'bipolar_sigmoid', 'arctan'.
    solver : {'adam', 'sgd'}, default='adam'
        'lbfgs' is refused with a ValueError in ``fit``: nnfast trains by mini-batch
        gradient descent only.
    alpha : float, default=0.0001
        L2 penalty: (alpha / 2m)·Σ‖W‖² on the weights, not the biases (nnfast's ``l2``;
        with sample weights the m is their sum, as in scikit-learn, see Notes).
    batch_size : int or 'auto', default='auto'
        Examples per mini-batch; 'auto' is min(200, n_samples); larger than n_samples:
        clipped, with a warning.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        For solver='sgd' (adam keeps ``learning_rate_init``): 'invscaling' uses
        ``learning_rate_init / (t + 1) ** power_t`` from the second epoch on, t the samples
        seen (scikit-learn's ``t_``); 'adaptive' divides the rate by 5 whenever
        ``n_iter_no_change`` epochs in a row fail to improve by ``tol``, and stops once it
        is at most 1e-6. Both as scikit-learn does them.
    learning_rate_init : float, default=0.001
    power_t : float, default=0.5
    max_iter : int, default=200
        Epochs at most (one for ``partial_fit``).
    shuffle : bool, default=True
        A new order of the examples every epoch (drawn by nnfast from a seed taken from
        ``random_state`` each epoch; scikit-learn draws its own, so the orders differ).
    random_state : int, RandomState instance or None, default=None
        The initial weights (scikit-learn's, see Notes), the early-stopping split and
        the epochs' seeds.
    tol : float, default=1e-4
    verbose : bool or int, default=False
        Print the loss of each epoch (and the validation score), as scikit-learn.
    warm_start : bool, default=False
        ``fit`` starts from the current weights (the optimizer starts afresh, as in
        scikit-learn).
    momentum : float in [0, 1), default=0.9
        solver='sgd' only (0: plain SGD). 1 is refused (scikit-learn allows it).
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified for single-output
        classification), stop when its score (accuracy, R²) has not improved by ``tol``
        for ``n_iter_no_change`` epochs, and keep the best epoch's weights.
    validation_fraction : float in [0, 1), default=0.1
    beta_1, beta_2 : float in [0, 1), default=0.9, 0.999
        Adam's decay rates.
    epsilon : float, default=1e-8
        Adam's ε (placed as in PyTorch, see Notes).
    n_iter_no_change : int or np.inf, default=10
        Stop after more than this many epochs without an improvement of ``tol`` in the
        training loss (or, with early stopping, the validation score).
    max_fun : int, default=15000
        Used by scikit-learn's lbfgs only; accepted so that the same code runs, unused.
    dtype : {None, 'float32', 'float64', np.float32, np.float64}, default=None
        nnfast's: the working precision of fit and predict. None: float32 X stays
        float32, anything else becomes float64.
    threads : int or None, default=None
        nnfast's: the most threads a call uses; None: nnfast's default (the CPUs this
        process may use, capped by the limits that joblib's and Dask's workers set, so
        ``n_jobs`` processes of ``GridSearchCV`` run one thread each on a machine with
        ``n_jobs`` cores).
    dropout : float in [0, 1), default=0.0
        nnfast's: inverted dropout on every hidden layer during ``fit``, each unit dropped
        with this probability (PyTorch's ``Dropout(p)``; ``nnfast.train``'s
        ``keep_prob = 1 - dropout``); prediction uses the whole network. 0: none."""

_NOTES_DOC = """
    Notes
    -----
    Training runs nnfast's compiled kernels: each epoch is ``nnfast.train(X.T, Y, ...,
    epochs=1, parameters=..., optimizer_state=...)`` with X the validated
    ``(n_samples, n_features)`` array read in place (no transposed copy; ``X.T`` is the
    ``(n_features, n_samples)`` layout nnfast takes). Copies of X are made only for a
    dtype change, a non-contiguous array, the early-stopping split and the removal of
    zero-weight examples. Sparse input is refused with scikit-learn's TypeError (nnfast
    has no sparse kernels).

    What differs from scikit-learn, and why:

    - Momentum (solver='sgd'): nnfast's rule is PyTorch's, v = μv + g, θ -= α·v
      (Nesterov: θ -= α·(g + μv)); scikit-learn's is v = μv − αg, θ += v (Nesterov:
      θ += μv − αg). With a constant rate they are the same steps (v_sklearn = −α·v);
      with 'invscaling' or 'adaptive' nnfast's velocity takes the new rate at once,
      scikit-learn's keeps the old rates in its past steps.
    - Adam's ε: nnfast (PyTorch) divides by √v̂ + ε with v̂ = v / (1 − β2ᵗ);
      scikit-learn by √v + ε with the bias correction moved into the rate, i.e. by
      √v̂ + ε / √(1 − β2ᵗ): its ε is larger by 1/√(1 − β2ᵗ) (31.6 at step 1, 1.0
      after a few thousand steps). It matters only where √v̂ is of the order of ε.
    - The shuffles are drawn by nnfast, not by ``sklearn.utils.shuffle``; the initial
      weights are scikit-learn's (same ``random_state``, same values).
    - ``loss_`` and ``loss_curve_`` are nnfast's epoch cost: the plain mean of the
      batches' costs (scikit-learn weights them by batch size: the same when
      ``batch_size`` divides n_samples), each computed from the logits (scikit-learn
      clips probabilities at machine epsilon).
    - Sample weights: scikit-learn divides the L2 term by Σw (the sum of the batch's
      weights); nnfast by the batch's size, so ``alpha`` is passed as
      alpha·m / Σw over the whole training set: exact in full batch and whenever a
      batch's mean weight is the set's. Zero-weight examples are left out.
    - Early stopping stratifies multiclass targets too (scikit-learn 1.9 tests
      ``n_outputs_ == 1`` after label binarization, which only a binary target passes).
    """


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = """scikit-learn's ``MLPClassifier`` (log-loss, solvers sgd and adam) trained by nnfast.

    Outputs as in scikit-learn: binary y -> one logistic unit; multiclass -> softmax over
    one unit per class; a multi-label indicator y -> one logistic unit per label. Class
    labels may be any type ``LabelBinarizer`` takes.
    """ + _PARAMETERS_DOC.replace("<loss>", "") + """
    class_weight : dict, 'balanced' or None, default=None
        nnfast's: weights per class multiplied into ``sample_weight``, {label: weight > 0}
        or 'balanced' (n_samples / (n_classes · count), scikit-learn's rule; refused by
        ``partial_fit``, whose batches need not hold every class). Single-output only.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coefs_ : list of ndarray
        ``coefs_[i]`` of shape (n_units[i], n_units[i + 1]) = nnfast's W[i+1].T, in the
        working dtype (float32 or float64).
    intercepts_ : list of ndarray
        ``intercepts_[i]`` of shape (n_units[i + 1],).
    loss_ : float
        The last epoch's loss (mean of its batches' log-loss + L2 term).
    loss_curve_ : list of float
        One per epoch.
    best_loss_ : float or None
        The smallest of ``loss_curve_`` (None with early stopping).
    validation_scores_ : list of float or None
        Accuracy on the validation set per epoch (early stopping; None otherwise).
    best_validation_score_ : float or None
    n_iter_ : int
        Epochs of the last ``fit`` (1 after ``partial_fit``).
    t_ : int
        Training samples seen, over all calls.
    n_layers_ : int
        len(hidden_layer_sizes) + 2.
    n_outputs_ : int
        Output units: 1 for binary y, n_classes for multiclass, n_labels for multi-label.
    out_activation_ : {'logistic', 'softmax'}
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        When X had string column names (a DataFrame).
    """ + _NOTES_DOC

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dtype=None,
                 threads=None, dropout=0.0, class_weight=None):
        _store_params(self, locals())

    _parameter_constraints = {**_BaseMLP._parameter_constraints,
                              "class_weight": [None, StrOptions({"balanced"}), dict]}

    def _output(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _validate_input(self, X, y, incremental, reset):
        """scikit-learn's: X and y checked, ``classes_`` set or checked, y binarized to
        (n_samples, n_outputs) 0/1."""
        X, y = validate_data(self, X, y, accept_sparse=False, multi_output=True, dtype=self._input_dtype(),
                             reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same classes as in the "
                                     f"previous call to fit. Previously got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {classes}.")
        return X, self._label_binarizer.transform(y)

    def _stratify(self, Y):
        return None if self._label_binarizer.y_type_.startswith("multilabel") else Y

    def _validation_target(self, Y):
        return self._label_binarizer.inverse_transform(Y if Y.shape[1] > 1 else Y.ravel())

    def _class_weight_indices(self, incremental):
        """``class_weight`` keyed by the output's class index, as ``example_weights`` takes it."""
        if self.class_weight is None:
            return None
        if self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError("class_weight is for single-output classification; y is a multi-label "
                             "indicator matrix (weight the examples with sample_weight instead)")
        if isinstance(self.class_weight, str):
            if incremental:
                raise ValueError("class_weight='balanced' is not supported by partial_fit (a batch need not "
                                 "hold every class); pass a dict {label: weight}, e.g. from "
                                 "sklearn.utils.class_weight.compute_class_weight")
            return self.class_weight
        index = {label: i for i, label in enumerate(self.classes_.tolist())}
        unknown = [label for label in self.class_weight if label not in index]
        if unknown:
            raise ValueError(f"class_weight has labels that are not classes: {unknown}; classes_ is "
                             f"{self.classes_.tolist()}")
        return {index[label]: weight for label, weight in self.class_weight.items()}

    def _predict_from_output(self, output):
        return self._label_binarizer.inverse_transform(output.ravel() if self.n_outputs_ == 1 else output)

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight, accuracy_score)

    def predict(self, X):
        """Class labels, shape (n_samples,) (or (n_samples, n_labels) 0/1 for multi-label):
        the most probable class (softmax), or probability > 0.5 (logistic).

        X : array-like of shape (n_samples, n_features), dense.
        """
        check_is_fitted(self)
        return self._predict_from_output(self._forward(X))

    def predict_proba(self, X):
        """Probabilities, shape (n_samples, n_classes) in the order of ``classes_`` ((n_samples,
        n_labels) for multi-label), in the working dtype (float32 for float32 X unless
        ``dtype`` says otherwise)."""
        check_is_fitted(self)
        output = self._forward(X)
        if self.n_outputs_ == 1:
            return np.vstack([1 - output.ravel(), output.ravel()]).T
        return output

    def predict_log_proba(self, X):
        """``log(predict_proba(X))``, shape (n_samples, n_classes)."""
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``X``, ``y``, continuing the weights and the optimizer's state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (n_classes,), default=None
            Every class of all calls; required on the first call (y need not hold all).

        Returns
        -------
        self
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y if type_of_target(y).startswith("multilabel") else classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = """scikit-learn's ``MLPRegressor`` (squared error, solvers sgd and adam) trained by nnfast.

    An identity output unit per target; y of shape (n_samples,) or (n_samples, n_outputs).
    """ + _PARAMETERS_DOC.replace("<loss>", """
    loss : {'squared_error'}, default='squared_error'
        'poisson' is refused with a ValueError in ``fit`` (nnfast has no exponential
        output layer).""") + """

    Attributes
    ----------
    coefs_, intercepts_, loss_curve_, best_loss_, n_iter_, t_, n_layers_, n_outputs_,
    n_features_in_, feature_names_in_
        As ``MLPClassifier``'s (``n_outputs_``: the number of targets).
    loss_ : float
        (1/2m)·Σ(prediction − y)² summed over the targets, + the L2 term (scikit-learn
        reports the squared error averaged over the targets, while its gradient is that
        of the sum, as here: the two agree for one target).
    validation_scores_ : list of float or None
        R² on the validation set per epoch (early stopping).
    best_validation_score_ : float or None
    out_activation_ : 'identity'
    """ + _NOTES_DOC

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dtype=None,
                 threads=None, dropout=0.0):
        _store_params(self, locals())

    _parameter_constraints = {**_BaseMLP._parameter_constraints,
                              "loss": [StrOptions({"squared_error", "poisson"})]}

    def _check_solver(self):
        super()._check_solver()
        if self.loss == "poisson":
            raise ValueError("loss='poisson' is not supported by nnfast.sklearn: nnfast has no exponential "
                             "output layer; use loss='squared_error'")

    def _output(self):
        return "identity"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=False, multi_output=True, y_numeric=True,
                             dtype=self._input_dtype(), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _stratify(self, Y):
        return None

    def _validation_target(self, Y):
        return Y.ravel() if Y.shape[1] == 1 else Y

    def _class_weight_indices(self, incremental):
        return None

    def _predict_from_output(self, output):
        return output.ravel() if output.shape[1] == 1 else output

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight, r2_score)

    def predict(self, X):
        """Predictions, shape (n_samples,) for one target or (n_samples, n_outputs), in the
        working dtype.

        X : array-like of shape (n_samples, n_features), dense.
        """
        check_is_fitted(self)
        return self._predict_from_output(self._forward(X))

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``X``, ``y`` (shapes as in ``fit``), continuing the weights and the
        optimizer's state. Returns self."""
        return self._fit(X, y, sample_weight, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
