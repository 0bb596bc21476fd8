"""Inverted dropout's masks, the same in both backends (course 2, "Improving Deep Neural
Networks", week 1): for a hidden layer l with keep probability p,

    D[l] = (u < p),   A[l] = A[l] * D[l] / p   (forward, what layer l+1 reads),
    dA[l] = dA[l] * D[l] / p                    (backward),

so that the expected activation is unchanged and nothing is rescaled at prediction time
(``predict`` and the validation passes use no dropout).

The course draws u from ``np.random.rand``; here u comes from a counter-based generator,
a hash of where the unit is, so a run is reproducible and does not depend on the thread
count, the block size or the order the kernels visit the examples in. Unit j of layer l
for example i (its column in X) in epoch e (the iteration, in full batch; counted from
the run's first epoch, so a resumed run draws what the uninterrupted one would) is kept
when ``u >> 11 < floor(p · 2^53)`` with

    u = s(s(s(s(key, e), l), i), j),   s(h, c) = mix(h + G·(c + 1))  (mod 2^64),

``mix`` SplitMix64's finalizer (Steele, Lea & Flood 2014) and G = 0x9E3779B97F4A7C15.
The comparison is on integers, so both backends keep exactly the same units. The kernel
twin is ``_kernels/dropout.py``.
"""

from dataclasses import dataclass

import numpy as np

GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
_U64 = np.uint64


@dataclass(frozen=True)
class Dropout:
    """A run's dropout: ``keep_prob[l-1]`` for layer l = 1..L (1.0: no dropout; always
    1.0 for the output layer), the generator's ``key`` and the absolute number of the
    run's first epoch."""

    keep_prob: tuple
    key: int
    first_epoch: int = 0

    def layers(self):
        """The layers l (1-based) that drop units."""
        return [l for l, p in enumerate(self.keep_prob, start=1) if p < 1.0]


def threshold(p):
    """floor(p · 2^53): unit kept when its 53-bit draw is below it (p = 1 keeps all)."""
    return int(float(p) * 2.0 ** 53)


def mix(z):
    """SplitMix64's finalizer on a uint64 array (wrapping arithmetic)."""
    z = (z ^ (z >> _U64(30))) * _U64(MIX1)
    z = (z ^ (z >> _U64(27))) * _U64(MIX2)
    return z ^ (z >> _U64(31))


def stream(h, counters):
    """s(h, c) = mix(h + G·(c + 1)) for uint64 arrays h and c (broadcast)."""
    return mix(np.asarray(h, _U64) + _U64(GOLDEN) * (np.asarray(counters).astype(_U64) + _U64(1)))


def mask(dropout, epoch, layer, examples, n_units):
    """D[l] ``(n_units, len(examples))`` of 0/1 in bool for layer ``layer`` in the run's
    epoch ``epoch`` (0-based within the run) for the X columns ``examples``."""
    h = stream(np.array([dropout.key], _U64), [dropout.first_epoch + epoch])
    h = stream(h, [layer])
    h = stream(h, np.asarray(examples, np.int64))  # (rows,)
    u = stream(h[None, :], np.arange(n_units)[:, None])
    return (u >> _U64(11)) < _U64(threshold(dropout.keep_prob[layer - 1]))
