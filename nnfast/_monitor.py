"""What ``train`` watches between kernel calls: the history per epoch, the validation set's
cost and accuracy, and early stopping. Called from Python once per epoch (per 1% of the
iterations in full batch), never per batch."""

import math

import numpy as np

from ._activations import predictions_from_output

_TINY = np.finfo(np.float64).tiny


def validation_metrics(AL, Y, output):
    """``(cost, accuracy)`` of output probabilities ``AL`` against ``Y`` (both ``(n_y, m)``),
    in float64: the output's cost (binary or categorical cross-entropy, the halved mean
    squared error for identity) and the fraction of right predictions (NaN for identity,
    a regression). Logs are clamped at the smallest normal number, as ``compute_cost``."""
    A = AL.astype(np.float64)
    Y = Y.astype(np.float64)
    m = Y.shape[1]
    if output == "sigmoid":
        cost = -np.sum(Y * np.log(np.maximum(A, _TINY)) + (1 - Y) * np.log(np.maximum(1 - A, _TINY))) / m
        accuracy = float(np.mean(predictions_from_output(A, output) == Y))
    elif output == "softmax":
        cost = -np.sum(Y * np.log(np.maximum(A, _TINY))) / m
        accuracy = float(np.mean(predictions_from_output(A, output) == np.argmax(Y, axis=0)))
    else:
        cost = 0.5 * np.sum((A - Y) ** 2) / m
        accuracy = math.nan
    return float(cost), accuracy


class Monitor:
    """The hook a backend's ``_gradient_descent`` calls between chunks of epochs.

    Records the history, evaluates ``validation = (X_val, Y_val)`` (prepared arrays, or
    None) with ``forward(X_val, parameters)``, keeps the best parameters by the monitored
    cost (the validation cost, else the training cost) and asks the run to stop after
    ``patience`` checks without an improvement larger than ``min_delta``.
    """

    def __init__(self, rates, output, forward=None, validation=None, patience=None, min_delta=0.0,
                 callback=None):
        self.rates, self.output, self.forward = rates, output, forward
        self.validation, self.patience, self.min_delta, self.callback = validation, patience, min_delta, callback
        self.history = {"epoch": [], "cost": [], "learning_rate": []}
        if validation is not None:
            self.history.update(val_cost=[], val_accuracy=[])
        self.best, self.best_parameters, self.checks_without_gain = math.inf, None, 0

    def __call__(self, done, total, cost, parameters):
        if self.callback is not None:
            self.callback(done, total, cost)
        if self.validation is None and self.patience is None:
            self._record(done, cost)
            return False
        params = parameters()
        monitored = cost
        if self.validation is not None:
            X_val, Y_val = self.validation
            val_cost, val_accuracy = validation_metrics(self.forward(X_val, params), Y_val, self.output)
            self.history["val_cost"].append(val_cost)
            self.history["val_accuracy"].append(val_accuracy)
            monitored = val_cost
        self._record(done, cost)
        if monitored < self.best - self.min_delta:
            self.best, self.best_parameters, self.checks_without_gain = monitored, params, 0
        else:
            self.checks_without_gain += 1
        return self.patience is not None and self.checks_without_gain >= self.patience

    def _record(self, done, cost):
        self.history["epoch"].append(done)
        self.history["cost"].append(float(cost))
        self.history["learning_rate"].append(float(self.rates[done - 1]))

    def result(self):
        """The history as arrays: ``epoch`` (epochs done at each check), ``cost``,
        ``learning_rate`` and, with a validation set, ``val_cost`` and ``val_accuracy``."""
        return {key: np.asarray(values, dtype=np.int64 if key == "epoch" else np.float64)
                for key, values in self.history.items()}
