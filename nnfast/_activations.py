"""The activation table of section 6.6: names, integer codes for the kernels, and roles.

Kernels dispatch on a small integer code (``_kernels/activations.py``); everything
above them speaks in names. This module is the single place that ties the two.
"""

import numpy as np

#: Activation names in code order: ``CODES[name]`` is the integer the kernels use.
NAMES = (
    "sigmoid",          # (6.23)
    "tanh",             # (6.25)
    "relu",             # (6.28)
    "leaky_relu",       # (6.29), slope 0.01
    "softplus",         # (6.30), "smooth ReLU"
    "bipolar_sigmoid",  # (6.24)
    "arctan",           # (6.26)
    "binary_step",      # (6.27), derivative is zero
    "identity",
    "softmax",          # (6.31)/(6.54), output layer only
)
CODES = {name: code for code, name in enumerate(NAMES)}

SIGMOID, TANH, RELU, LEAKY_RELU, SOFTPLUS, BIPOLAR_SIGMOID, ARCTAN, BINARY_STEP, \
    IDENTITY, SOFTMAX = range(len(NAMES))

#: Slope of leaky ReLU for z < 0 (the chapter's "typically 0.01").
LEAKY_SLOPE = 0.01

#: Output activations and the cost each one is paired with, so that dZ[L] = A[L] - Y
#: holds in every case (6.35, 6.56.d).
OUTPUT_COSTS = {
    "sigmoid": "binary cross-entropy (6.12)",
    "softmax": "categorical cross-entropy (6.55.b)",
    "identity": "squared error (1/2m)·Σ(A−Y)²",
}

#: Activations allowed in hidden layers: softmax is not elementwise, so its derivative
#: is a Jacobian and it only makes sense paired with the categorical cost.
HIDDEN = tuple(name for name in NAMES if name != "softmax")


def predictions_from_output(AL, output):
    """Predictions from the output layer ``A[L]`` of shape ``(n[L], m)``.

    sigmoid: ``A[L] > 0.5`` as 0/1 int64 of shape ``(n[L], m)`` (the chapter's threshold);
    softmax: the class index ``argmax`` over axis 0, int64 of shape ``(m,)`` (6.9.4);
    identity: ``A[L]`` itself (regression).
    """
    if output == "sigmoid":
        return (AL > 0.5).astype(np.int64)
    if output == "softmax":
        return np.argmax(AL, axis=0)
    return AL

#: Hidden activations whose initial weights get He scaling (variance 2/fan-in).
RELU_LIKE = ("relu", "leaky_relu")
