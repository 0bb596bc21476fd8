"""nnfast: the textbook's dense neural networks, trained by Numba-compiled explicit loops
and checked against a vectorized NumPy reference.

Two backends with the same functions (``nnfast.reference``, ``nnfast.compiled``) and the
general L-layer entry points below.
"""

from . import compiled, reference
from ._activations import NAMES as ACTIVATIONS
from .api import TrainResult, gradients, init_parameters, predict, predict_proba, train

__all__ = ["ACTIVATIONS", "TrainResult", "compiled", "gradients", "init_parameters", "predict",
           "predict_proba", "reference", "train"]
__version__ = "0.1.0"
