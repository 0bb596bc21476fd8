"""Optimizers for ``train(..., optimizer=...)``: torch.optim's update rules and defaults.

The rules are PyTorch's, in PyTorch's arithmetic order, so that a user moving between the
two gets the same numbers. g is the batch's mean gradient (plus the L2 term, see
``train``), α the learning rate, t the number of updates so far (from 1):

- ``SGD``: θ -= α·g (the chapter's rule, 6.14);
- ``Momentum(momentum=0.9)``: v = μ·v + g; θ -= α·v. PyTorch's form: the course writes
  momentum as an exponentially weighted average, v = β·v + (1 − β)·g, which is this one
  with α scaled by (1 − β); both converge alike with the learning rate adjusted;
- ``Nesterov(momentum=0.9)``: v = μ·v + g; θ -= α·(g + μ·v) (PyTorch's Nesterov form);
- ``RMSprop(alpha=0.99, eps=1e-8)``: s = α_s·s + (1 − α_s)·g²; θ -= α·g / (√s + ε);
- ``Adam(beta1=0.9, beta2=0.999, eps=1e-8)``: m += (1 − β1)·(g − m);
  v = β2·v + (1 − β2)·g²; θ -= (α / (1 − β1ᵗ))·m / (√v / √(1 − β2ᵗ) + ε)
  (bias-corrected, ε outside the square root);
- ``AdamW(..., weight_decay=0.01)``: θ *= 1 − α·λ, then Adam's step: decoupled weight
  decay on every parameter, weights and biases, as PyTorch applies it.

State — v; s; m and v — lives in flat buffers shaped like the parameters and comes back
with ``TrainResult.optimizer_state`` so that a run can continue from it.
"""

import math
from dataclasses import dataclass

import numpy as np

from ._validate import named_instance

#: Kernel codes (``_kernels/optim.py`` switches on them).
SGD_CODE, MOMENTUM_CODE, NESTEROV_CODE, RMSPROP_CODE, ADAM_CODE, ADAMW_CODE = range(6)


def _check_rate(owner, name, value, low, high, closed_high=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: {name} must be a real number, got {type(value).__name__}")
    value = float(value)
    inside = low <= value <= high if closed_high else low <= value < high
    if not (math.isfinite(value) and inside):
        interval = f"[{low}, {high}]" if closed_high else f"[{low}, {high})"
        raise ValueError(f"{owner}: {name} must be in {interval}, got {value!r}")
    return value


def _check_eps(owner, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: eps must be a real number, got {type(value).__name__}")
    if not (math.isfinite(float(value)) and float(value) > 0):
        raise ValueError(f"{owner}: eps must be a finite number > 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class SGD:
    """θ -= α·g."""

    name = "sgd"
    code = SGD_CODE
    buffers = ()

    def hyper(self):
        return np.zeros(4)


@dataclass(frozen=True)
class Momentum:
    """v = μ·v + g; θ -= α·v (PyTorch's SGD with momentum, no dampening)."""

    momentum: float = 0.9
    name = "momentum"
    code = MOMENTUM_CODE
    buffers = ("v",)

    def __post_init__(self):
        object.__setattr__(self, "momentum", _check_rate(type(self).__name__, "momentum", self.momentum, 0.0, 1.0))

    def hyper(self):
        return np.array([self.momentum, 0.0, 0.0, 0.0])


@dataclass(frozen=True)
class Nesterov(Momentum):
    """v = μ·v + g; θ -= α·(g + μ·v) (PyTorch's ``nesterov=True``)."""

    name = "nesterov"
    code = NESTEROV_CODE


@dataclass(frozen=True)
class RMSprop:
    """s = α_s·s + (1 − α_s)·g²; θ -= α·g / (√s + ε) (PyTorch's defaults)."""

    alpha: float = 0.99
    eps: float = 1e-8
    name = "rmsprop"
    code = RMSPROP_CODE
    buffers = ("s",)

    def __post_init__(self):
        object.__setattr__(self, "alpha", _check_rate(type(self).__name__, "alpha", self.alpha, 0.0, 1.0))
        object.__setattr__(self, "eps", _check_eps(type(self).__name__, self.eps))

    def hyper(self):
        return np.array([self.alpha, 0.0, self.eps, 0.0])


@dataclass(frozen=True)
class Adam:
    """Bias-corrected Adam with ε outside the square root (PyTorch's defaults)."""

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    name = "adam"
    code = ADAM_CODE
    buffers = ("m", "v")

    def __post_init__(self):
        owner = type(self).__name__
        object.__setattr__(self, "beta1", _check_rate(owner, "beta1", self.beta1, 0.0, 1.0))
        object.__setattr__(self, "beta2", _check_rate(owner, "beta2", self.beta2, 0.0, 1.0))
        object.__setattr__(self, "eps", _check_eps(owner, self.eps))

    def hyper(self):
        return np.array([self.beta1, self.beta2, self.eps, 0.0])


@dataclass(frozen=True)
class AdamW(Adam):
    """Adam with decoupled weight decay: θ *= 1 − α·λ before each step (PyTorch's AdamW)."""

    weight_decay: float = 0.01
    name = "adamw"
    code = ADAMW_CODE

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.weight_decay, bool) or not isinstance(self.weight_decay, (int, float, np.integer,
                                                                                     np.floating)):
            raise TypeError(f"AdamW: weight_decay must be a real number, got {type(self.weight_decay).__name__}")
        if not (math.isfinite(float(self.weight_decay)) and float(self.weight_decay) >= 0):
            raise ValueError(f"AdamW: weight_decay must be a finite number >= 0, got {self.weight_decay!r}")
        object.__setattr__(self, "weight_decay", float(self.weight_decay))

    def hyper(self):
        return np.array([self.beta1, self.beta2, self.eps, self.weight_decay])


OPTIMIZERS = {cls.name: cls for cls in (SGD, Momentum, Nesterov, RMSprop, Adam, AdamW)}


def get(optimizer):
    """An optimizer instance from a name of ``OPTIMIZERS`` (its defaults) or an instance."""
    return named_instance("optimizer", OPTIMIZERS, optimizer, "nnfast.optimizers")


def step(opt, theta, g, state, t, lr):
    """One update of the flat parameters ``theta`` in place, NumPy: the reference twin of
    ``_kernels/optim.optimizer_step`` (same operations in the same order, elementwise).

    theta, g : 1-D arrays of one dtype; state : ``(len(opt.buffers), theta.size)``; t : the
    number of this update (from 1); lr : α.
    """
    dt = theta.dtype.type
    h = opt.hyper()
    if opt.code == SGD_CODE:
        theta -= dt(lr) * g
    elif opt.code in (MOMENTUM_CODE, NESTEROV_CODE):
        v = state[0]
        v *= dt(h[0])
        v += g
        theta -= dt(lr) * ((g + dt(h[0]) * v) if opt.code == NESTEROV_CODE else v)
    elif opt.code == RMSPROP_CODE:
        s = state[0]
        s *= dt(h[0])
        s += dt(1 - h[0]) * (g * g)
        theta -= dt(lr) * (g / (np.sqrt(s) + dt(h[2])))
    else:
        if opt.code == ADAMW_CODE:
            theta *= dt(1 - lr * h[3])
        m, v = state[0], state[1]
        m += dt(1 - h[0]) * (g - m)
        v *= dt(h[1])
        v += dt(1 - h[1]) * (g * g)
        step_size = dt(lr / (1 - h[0] ** t))
        root = dt(math.sqrt(1 - h[1] ** t))
        theta -= step_size * (m / (np.sqrt(v) / root + dt(h[2])))
