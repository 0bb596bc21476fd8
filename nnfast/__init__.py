"""nnfast: the textbook's dense neural networks, trained by Numba-compiled explicit loops
and checked against a vectorized NumPy reference.

Two backends with the same functions (``nnfast.reference``, ``nnfast.compiled``) and the
general L-layer entry points below.
"""

from . import _cache, _startup

try:
    from . import compiled
except RuntimeError as error:  # Numba's, when it can write a cache nowhere
    raise _cache.unwritable_error(error) from error
from . import datasets, reference
from ._activations import NAMES as ACTIVATIONS
from .api import TrainResult, gradients, init_parameters, predict, predict_proba, train
from .io import load, save

# Before any kernel is called: a cache compiled from other sources is emptied, and a
# compile (rather than a load from the cache) says so on standard error.
_cache.discard_stale()
_startup.install()

__all__ = ["ACTIVATIONS", "TrainResult", "compiled", "datasets", "gradients", "init_parameters",
           "load", "predict", "predict_proba", "reference", "save", "train"]
__version__ = "0.1.0"
