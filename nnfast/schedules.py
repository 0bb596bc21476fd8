"""Learning-rate schedules for ``train(..., schedule=...)``: the rate of each epoch (each
iteration in full-batch training, where an epoch is one iteration), computed in Python
before the run and read by the kernels from an array — nothing per batch in Python.

With α0 the ``learning_rate`` and e the epoch (from 0):

- ``Constant()``: α0 (the default);
- ``StepDecay(step_size=10, gamma=0.1)``: α0·γ^⌊e / step_size⌋ (torch's ``StepLR``);
- ``Exponential(gamma=0.95)``: α0·γ^e (torch's ``ExponentialLR``);
- ``InverseTime(power_t=0.5)``: α0 / (e + 1)^power_t (scikit-learn's ``invscaling``, which
  counts steps where this counts epochs);
- ``Cosine(t_max=None, eta_min=0.0)``: η_min + (α0 − η_min)·(1 + cos(π·e / T))/2 with
  T = t_max or the run's number of epochs (torch's ``CosineAnnealingLR``), η_min after T.
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np

from ._validate import named_instance


def _real(owner, name, value, minimum, strict):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not (math.isfinite(value) and (value > minimum if strict else value >= minimum)):
        raise ValueError(f"{owner}: {name} must be a finite number {'>' if strict else '>='} {minimum}, got {value!r}")
    return value


def _count(owner, name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{owner}: {name} must be a whole number >= 1, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Constant:
    """α0 every epoch."""

    name = "constant"

    def rates(self, lr, epochs):
        return np.full(len(epochs), lr)


@dataclass(frozen=True)
class StepDecay:
    """α0·γ^⌊e / step_size⌋."""

    step_size: int = 10
    gamma: float = 0.1
    name = "step"

    def __post_init__(self):
        object.__setattr__(self, "step_size", _count("StepDecay", "step_size", self.step_size))
        object.__setattr__(self, "gamma", _real("StepDecay", "gamma", self.gamma, 0.0, True))

    def rates(self, lr, epochs):
        return lr * self.gamma ** (epochs // self.step_size)


@dataclass(frozen=True)
class Exponential:
    """α0·γ^e."""

    gamma: float = 0.95
    name = "exponential"

    def __post_init__(self):
        object.__setattr__(self, "gamma", _real("Exponential", "gamma", self.gamma, 0.0, True))

    def rates(self, lr, epochs):
        return lr * self.gamma ** epochs.astype(np.float64)


@dataclass(frozen=True)
class InverseTime:
    """α0 / (e + 1)^power_t."""

    power_t: float = 0.5
    name = "invscaling"

    def __post_init__(self):
        object.__setattr__(self, "power_t", _real("InverseTime", "power_t", self.power_t, 0.0, False))

    def rates(self, lr, epochs):
        return lr / (epochs + 1.0) ** self.power_t


@dataclass(frozen=True)
class Cosine:
    """η_min + (α0 − η_min)·(1 + cos(π·e / T))/2, T = t_max or the run's length."""

    t_max: int = None
    eta_min: float = 0.0
    name = "cosine"

    def __post_init__(self):
        if self.t_max is not None:
            object.__setattr__(self, "t_max", _count("Cosine", "t_max", self.t_max))
        object.__setattr__(self, "eta_min", _real("Cosine", "eta_min", self.eta_min, 0.0, False))

    def rates(self, lr, epochs, total=None):
        T = self.t_max or total or max(int(epochs[-1]) + 1 if len(epochs) else 1, 1)
        e = np.minimum(epochs, T).astype(np.float64)
        return self.eta_min + (lr - self.eta_min) * (1 + np.cos(np.pi * e / T)) / 2


SCHEDULES = {cls.name: cls for cls in (Constant, StepDecay, Exponential, InverseTime, Cosine)}


def get(schedule):
    """A schedule instance from a name of ``SCHEDULES`` (its defaults), an instance, or
    None (``Constant``)."""
    return Constant() if schedule is None else named_instance("schedule", SCHEDULES, schedule, "nnfast.schedules")


def rates(schedule, lr, first_epoch, n_epochs):
    """The learning rates of epochs first_epoch .. first_epoch + n_epochs - 1 (float64)."""
    epochs = np.arange(first_epoch, first_epoch + n_epochs)
    if isinstance(schedule, Cosine):
        return schedule.rates(lr, epochs, total=first_epoch + n_epochs)
    return np.asarray(schedule.rates(lr, epochs), dtype=np.float64)
