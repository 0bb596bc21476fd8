"""Every check at the boundary between the caller and the kernels, in one message style.

Each function raises ``TypeError`` (wrong kind of object or dtype) or ``ValueError``
(right kind, wrong shape or value) with a message that names the argument, what was
expected and what was given. Checks return converted *new or read-only-used* arrays: the
caller's arrays are never written to, by anything in nnfast.

Nothing here is compiled: the kernels assume that what reaches them passed these checks
(shapes chain, dtypes match, C-contiguous), because an ``@njit`` loop indexed with a wrong
shape reads or writes out of bounds instead of raising.
"""

import numbers
import re
from collections.abc import Mapping, Sequence

import numpy as np

from . import _activations

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _describe(a):
    """'a 1-D float64 array of shape (400,)' — for error messages."""
    return f"a {a.ndim}-D {a.dtype} array of shape {a.shape}"


def working_dtype(dtype, X=None):
    """The float dtype the computation runs in.

    An explicit ``dtype`` must be float32 or float64. Otherwise float32 when ``X`` is
    float32 (or float16), float64 for everything else (float64, integers, ...).
    """
    if dtype is not None:
        try:
            dt = np.dtype(dtype)
        except TypeError as exc:
            raise TypeError(f"dtype must be float32 or float64; got {dtype!r}") from exc
        if dt not in _FLOAT_DTYPES:
            raise ValueError(f"dtype must be float32 or float64; got {dt}")
        return dt
    dt = getattr(X, "dtype", None)
    if isinstance(dt, np.dtype) and dt.kind == "f" and dt.itemsize <= 4:  # any byte order
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def as_real_array(name, a, *, allow_bool=False):
    """``a`` as a plain ndarray of real numbers (no copy when it already is one).

    Subclasses become plain arrays (``np.matrix`` would make ``A * A`` a matrix product);
    masked arrays are refused, since their masked values would silently be used."""
    if isinstance(a, np.ma.MaskedArray):
        raise TypeError(f"{name} must be a plain array; got a masked array (fill or remove the "
                        f"masked values first, e.g. {name}.filled(...))")
    try:
        arr = np.asarray(a)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of real numbers; got {type(a).__name__}") from exc
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} must be real-valued; got complex dtype {arr.dtype}")
    if kind == "b" and not allow_bool:
        raise TypeError(f"{name} must have a numeric dtype (float32/float64 or integer); got bool")
    if kind not in "fiub":
        raise TypeError(
            f"{name} must have a numeric dtype (float32/float64 or integer); got dtype {arr.dtype}"
        )
    return arr


def as_float_array(name, a):
    """``a`` (any shape) as a float array: float32 stays float32, float16 becomes float32,
    everything else float64. For the elementwise activation functions."""
    arr = as_real_array(name, a)
    return arr.astype(working_dtype(None, arr), copy=False)


def check_finite(name, a):
    """Raise ValueError if ``a`` holds NaN or infinity, saying where the first one is."""
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))
        where = tuple(int(i) for i in bad[0])
        raise ValueError(
            f"{name} must be finite; it contains {len(bad)} NaN or infinite value(s), "
            f"the first at index {where} ({a[where]})"
        )


#: Elements per slice of ``all_finite``: its boolean temporary (256 KB) stays in L2.
_FINITE_SLICE = 1 << 18


def all_finite(a):
    """Whether every element of the contiguous array ``a`` is finite: one pass, in slices,
    so no temporary of a's size is made (on MNIST's 47M float64 a full-size
    ``np.isfinite(a).all()`` spent ~45 ms, mostly writing and reading its 47 MB of bools)."""
    flat = a.ravel(order="K")  # a view: a is contiguous
    return all(np.isfinite(flat[i:i + _FINITE_SLICE]).all() for i in range(0, flat.size, _FINITE_SLICE))


def to_dtype(name, arr, dtype, *, order="C"):
    """``arr`` as a finite contiguous array of ``dtype`` (float32 or float64): C-contiguous,
    or with ``order="K"`` Fortran-contiguous when it already is (an X of one example per
    row passed as ``X.T``, used in place).

    Checked after the conversion, in one pass: a finite float64 value beyond the float32
    range becomes inf there, and is refused like NaN and inf in the input are.
    """
    dtype = np.dtype(dtype)
    fortran = order == "K" and arr.ndim == 2 and arr.flags.f_contiguous and not arr.flags.c_contiguous
    with np.errstate(over="ignore"):
        out = np.asfortranarray(arr, dtype=dtype) if fortran else np.ascontiguousarray(arr, dtype=dtype)
    if not all_finite(out):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
        if np.isfinite(arr[where]):
            raise ValueError(f"{name} must fit in {dtype} (largest magnitude {np.finfo(dtype).max:.4g}); "
                             f"got {arr[where]} at index {where}")
        check_finite(name, arr)  # raises, saying how many and where the first one is
    return out


def as_matrix(name, a, dtype, *, shape_doc, allow_bool=False, order="C"):
    """A finite, non-empty 2-D array converted to ``dtype`` (C-contiguous; with
    ``order="K"`` a Fortran-contiguous one stays so, see ``to_dtype``).

    ``shape_doc`` names the expected shape in the chapter's notation, e.g. "(n_x, m)".
    Returns the caller's array itself only when it already is contiguous ``dtype``;
    nothing downstream writes to it.
    """
    arr = as_real_array(name, a, allow_bool=allow_bool)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape {shape_doc}; got {_describe(arr)}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape} (expected {shape_doc})")
    return to_dtype(name, arr, dtype, order=order)


def check_count(name, value, *, minimum=0):
    """A whole number >= minimum (integral floats such as 1e4 are accepted)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a whole number; got {value!r} ({type(value).__name__})")
    if isinstance(value, numbers.Integral):
        n = int(value)
    elif np.isfinite(value) and float(value).is_integer():
        n = int(value)
    else:
        raise ValueError(f"{name} must be a whole number; got {value!r}")
    if n < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {n}")
    return n


def check_seed(seed):
    """None, a non-negative whole number, or a ``np.random.SeedSequence``."""
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Real):
        raise TypeError(f"seed must be None, a whole number >= 0 or a np.random.SeedSequence; "
                        f"got {seed!r} ({type(seed).__name__})")
    return check_count("seed", seed)


def check_flag(name, value):
    """A bool (Python's or NumPy's)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r} ({type(value).__name__})")
    return bool(value)


def check_callback(callback):
    """None or a callable ``callback(done, total, cost)``."""
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be a function callback(done, total, cost) or None; "
                        f"got {type(callback).__name__}")
    return callback


def check_softmax_input(Z):
    """softmax normalises over axis 0, so Z needs at least one row (class)."""
    if Z.ndim and Z.shape[0] == 0:
        raise ValueError(f"Z must have at least one class (row) for softmax over axis 0; got shape {Z.shape}")
    return Z


def check_math(math):
    """None (the configured default) or one of ``_config.MATH_MODES``."""
    from ._config import MATH_MODES
    if math is not None and math not in MATH_MODES:
        raise ValueError(f"math must be one of {', '.join(map(repr, MATH_MODES))}; got {math!r}")
    return math


def check_learning_rate(learning_rate, name="learning_rate"):
    """A finite positive real number (a 0-d array counts as one)."""
    if isinstance(learning_rate, np.ndarray) and learning_rate.ndim == 0 and learning_rate.dtype.kind in "fiu":
        learning_rate = learning_rate.item()
    if isinstance(learning_rate, (bool, np.bool_)) or not isinstance(learning_rate, numbers.Real):
        raise TypeError(f"{name} must be a positive real number; got {learning_rate!r} "
                        f"({type(learning_rate).__name__})")
    lr = float(learning_rate)
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"{name} must be a finite number > 0; got {learning_rate!r}")
    return lr


def named_instance(kind, registry, value, module):
    """``registry[value]()`` for a name, ``value`` itself for an instance of one of the
    registry's classes (``kind`` the argument's name, ``module`` where they live)."""
    if isinstance(value, str):
        if value not in registry:
            raise ValueError(f"{kind} must be one of {', '.join(map(repr, registry))} or an instance of "
                             f"{module}; got {value!r}")
        return registry[value]()
    if isinstance(value, tuple(registry.values())):
        return value
    raise TypeError(f"{kind} must be a name ({', '.join(registry)}) or an {module} instance, "
                    f"got {type(value).__name__}")


def check_l2(l2, name="l2"):
    """A finite real number >= 0 (the L2 penalty λ, ``min_delta``)."""
    if isinstance(l2, np.ndarray) and l2.ndim == 0 and l2.dtype.kind in "fiu":
        l2 = l2.item()
    if isinstance(l2, (bool, np.bool_)) or not isinstance(l2, numbers.Real):
        raise TypeError(f"{name} must be a real number >= 0; got {l2!r} ({type(l2).__name__})")
    if not (np.isfinite(float(l2)) and float(l2) >= 0):
        raise ValueError(f"{name} must be a finite number >= 0; got {l2!r}")
    return float(l2)


def check_keep_prob(keep_prob, n_layers):
    """Inverted dropout's keep probabilities: ``(p_1, ..., p_{L-1}, 1.0)``, one per layer
    (the output layer never drops), or None when every p is 1. ``keep_prob`` is None, one
    p for every hidden layer, or a sequence of L-1 of them, each in (0, 1]."""
    if keep_prob is None:
        return None
    hidden = n_layers - 1
    many = isinstance(keep_prob, (list, tuple, np.ndarray))
    items = [(f"keep_prob[{i}]", p) for i, p in enumerate(keep_prob)] if many else [("keep_prob", keep_prob)]
    for name, p in items:
        if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
            raise TypeError(f"{name} must be a real number in (0, 1]; got {p!r} ({type(p).__name__})")
        if not 0.0 < float(p) <= 1.0:
            raise ValueError(f"{name} must be in (0, 1] (the probability of keeping a unit); got {p!r}")
    if many and len(items) != hidden:
        raise ValueError(f"keep_prob must be one number or one per hidden layer ({hidden}); got {len(items)}")
    values = [float(p) for _, p in items] if many else [float(keep_prob)] * hidden
    if not many and hidden == 0 and float(keep_prob) != 1.0:
        raise ValueError(f"keep_prob applies to hidden layers and this network has none; got {keep_prob!r}")
    return None if all(p == 1.0 for p in values) else tuple(values) + (1.0,)


def example_weights(sample_weight, class_weight, Y, output, dtype):
    """The examples' weights (m,) in ``dtype`` from ``sample_weight`` (1-D, m finite numbers
    > 0) and ``class_weight`` (None, ``"balanced"`` — m / (n_classes · count of the class),
    scikit-learn's rule — or a dict {class: weight > 0}), multiplied; None when both are
    None. Classes are the labelled column of a softmax Y and the 0/1 of a single sigmoid
    unit."""
    if sample_weight is None and class_weight is None:
        return None
    m = Y.shape[1]
    weights = np.ones(m)
    if sample_weight is not None:
        w = as_real_array("sample_weight", sample_weight)
        if w.ndim != 1 or w.shape[0] != m:
            raise ValueError(f"sample_weight must be 1-D with one weight per example, shape ({m},); "
                             f"got shape {w.shape}")
        w = w.astype(np.float64)
        if not np.isfinite(w).all() or not (w > 0).all():
            bad = w[~(np.isfinite(w) & (w > 0))][0]
            raise ValueError(f"sample_weight must hold finite numbers > 0 (drop the examples a zero weight would "
                             f"remove); got {bad!r}")
        weights *= w
    if class_weight is not None:
        if output == "softmax":
            classes, n_classes = np.argmax(Y, axis=0), Y.shape[0]
        elif output == "sigmoid" and Y.shape[0] == 1:
            classes, n_classes = Y[0].astype(np.int64), 2
        else:
            raise ValueError(f"class_weight needs classes: a softmax output or one sigmoid unit; got a {output} "
                             f"output with {Y.shape[0]} unit(s)")
        counts = np.bincount(classes, minlength=n_classes)
        if isinstance(class_weight, str):
            if class_weight != "balanced":
                raise ValueError(f"class_weight must be 'balanced' or a dict {{class: weight}}; got {class_weight!r}")
            per_class = np.where(counts > 0, m / (n_classes * np.maximum(counts, 1)), 0.0)
        elif isinstance(class_weight, dict):
            per_class = np.ones(n_classes)
            for key, value in class_weight.items():
                if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer)) \
                        or not 0 <= key < n_classes:
                    raise ValueError(f"class_weight keys must be classes 0..{n_classes - 1}; got {key!r}")
                if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
                        or not (np.isfinite(value) and value > 0):
                    raise ValueError(f"class_weight[{key!r}] must be a finite number > 0; got {value!r}")
                per_class[key] = float(value)
        else:
            raise TypeError(f"class_weight must be None, 'balanced' or a dict {{class: weight}}; "
                            f"got {type(class_weight).__name__}")
        weights *= per_class[classes]
    return weights.astype(dtype)


def check_optimizer_state(state, optimizer, dims, dtype):
    """A ``TrainResult.optimizer_state`` for ``optimizer`` on layers ``dims``: ``{"step": t,
    "epoch": e}`` and one ``{W1, b1, ...}`` dict of finite arrays per buffer of the
    optimizer, each of the parameters' shapes; returned with the arrays in ``dtype``."""
    if not isinstance(state, dict):
        raise TypeError(f"optimizer_state must be a dict (a TrainResult.optimizer_state); got {type(state).__name__}")
    expected = {"step", "epoch", *optimizer.buffers}
    if set(state) != expected:
        raise ValueError(f"optimizer_state for optimizer {optimizer.name!r} must have the keys {sorted(expected)}; "
                         f"got {sorted(state)}")
    out = {"step": check_count("optimizer_state['step']", state["step"]),
           "epoch": check_count("optimizer_state['epoch']", state["epoch"])}
    for name in optimizer.buffers:
        if not isinstance(state[name], dict):
            raise TypeError(f"optimizer_state[{name!r}] must be a dict like parameters; "
                            f"got {type(state[name]).__name__}")
        out[name] = {}
        for l in range(1, len(dims)):
            for key, shape in ((f"W{l}", (dims[l], dims[l - 1])), (f"b{l}", (dims[l], 1))):
                if key not in state[name]:
                    raise ValueError(f"optimizer_state[{name!r}] has no {key!r}")
                a = as_float_array(f"optimizer_state[{name!r}][{key!r}]", state[name][key])
                if a.shape != shape:
                    raise ValueError(f"optimizer_state[{name!r}][{key!r}] must have shape {shape}; got {a.shape}")
                if not all_finite(a):
                    raise ValueError(f"optimizer_state[{name!r}][{key!r}] holds NaN or infinity")
                out[name][key] = a.astype(dtype)
    return out


def check_layer_dims(layer_dims):
    """``(n_x, n_1, ..., n_L)``: at least two positive whole numbers."""
    if isinstance(layer_dims, (str, bytes)) or not isinstance(layer_dims, (Sequence, np.ndarray)):
        raise TypeError(f"layer_dims must be a sequence of layer sizes [n_x, n_1, ..., n_L]; "
                        f"got {type(layer_dims).__name__}")
    dims = tuple(check_count(f"layer_dims[{i}]", n, minimum=1) for i, n in enumerate(layer_dims))
    if len(dims) < 2:
        raise ValueError(f"layer_dims must hold the input size and at least one layer, "
                         f"[n_x, n_1, ..., n_L]; got {list(layer_dims)}")
    return dims


def check_activations(activations, n_layers):
    """Activation names, one per layer: hidden ones elementwise, the output paired with a cost.

    Returns the tuple of names (lower-case, as given).
    """
    if isinstance(activations, str) or not isinstance(activations, (Sequence, np.ndarray)):
        raise TypeError(
            f"activations must be a sequence of {n_layers} activation name(s), one per layer; "
            f"got {activations!r}"
        )
    names = tuple(str(a) if isinstance(a, str) else a for a in activations)  # np.str_ -> str
    if len(names) != n_layers:
        raise ValueError(f"activations must have one name per layer: expected {n_layers} "
                         f"(len(layer_dims) - 1), got {len(names)}: {list(names)}")
    for l, name in enumerate(names, start=1):
        if not isinstance(name, str) or name not in _activations.CODES:
            raise ValueError(f"activations[{l - 1}] (layer {l}) must be one of "
                             f"{', '.join(_activations.NAMES)}; got {name!r}")
    for l, name in enumerate(names[:-1], start=1):
        if name not in _activations.HIDDEN:
            raise ValueError(f"activations[{l - 1}] (hidden layer {l}) cannot be {name!r}: softmax "
                             "is not elementwise and is only allowed in the output layer")
    if names[-1] not in _activations.OUTPUT_COSTS:
        allowed = ", ".join(f"{k} ({v})" for k, v in _activations.OUTPUT_COSTS.items())
        raise ValueError(f"activations[{n_layers - 1}] (output layer) must be one of {allowed}, "
                         f"so that dZ[L] = A[L] - Y; got {names[-1]!r}")
    return names


_PARAM_KEY = re.compile(r"^([Wb])([1-9][0-9]*)$")


def check_parameters(parameters, layer_dims=None, name="parameters"):
    """Check a parameter dict ``{W1, b1, ..., WL, bL}`` and return its ``layer_dims``.

    ``W[l]`` must have shape ``(n[l], n[l-1])`` and ``b[l]`` shape ``(n[l], 1)`` (the chapter's
    shapes), consecutive layers must chain, all values must be finite real numbers. When
    ``layer_dims`` is given the shapes must match it.
    """
    if not isinstance(parameters, Mapping):
        raise TypeError(f"{name} must be a dict with keys W1, b1, ..., WL, bL; "
                        f"got {type(parameters).__name__}")
    layers = set()
    for key in parameters:
        match = _PARAM_KEY.match(key) if isinstance(key, str) else None
        if match is None:
            raise ValueError(f"{name} has an unexpected key {key!r}; expected only W1, b1, ..., WL, bL")
        layers.add(int(match.group(2)))
    if not layers:
        raise ValueError(f"{name} is empty; expected keys W1, b1, ..., WL, bL")
    L = max(layers)
    for l in range(1, L + 1):
        for kind in "Wb":
            if f"{kind}{l}" not in parameters:
                raise ValueError(f"{name} is missing {kind}{l}: a network with {L} layers needs "
                                 f"W1..W{L} and b1..b{L}")
    dims = None if layer_dims is None else check_layer_dims(layer_dims)
    if dims is not None and len(dims) != L + 1:
        raise ValueError(f"{name} has {L} layer(s) but layer_dims {list(dims)} describes {len(dims) - 1}")
    found = []
    for l in range(1, L + 1):
        W = as_real_array(f"{name}['W{l}']", parameters[f"W{l}"])
        b = as_real_array(f"{name}['b{l}']", parameters[f"b{l}"])
        if W.ndim != 2:
            raise ValueError(f"{name}['W{l}'] must be a 2-D array of shape (n[{l}], n[{l - 1}]); "
                             f"got {_describe(W)}")
        n_l, n_prev = W.shape
        if l == 1:
            found.append(n_prev)
        elif n_prev != found[-1]:
            raise ValueError(
                f"{name}['W{l}'] must have n[{l - 1}] = {found[-1]} columns, shape (n[{l}], {found[-1]}), "
                f"to follow W{l - 1} of shape {np.shape(parameters[f'W{l - 1}'])}; got {W.shape}"
                + (" (transposed?)" if W.shape[0] == found[-1] else "")
            )
        found.append(n_l)
        if dims is not None and W.shape != (dims[l], dims[l - 1]):
            raise ValueError(f"{name}['W{l}'] must have shape (n[{l}], n[{l - 1}]) = "
                             f"({dims[l]}, {dims[l - 1]}) from layer_dims {list(dims)}; got {W.shape}"
                             + (" (transposed?)" if W.shape == (dims[l - 1], dims[l]) else ""))
        if b.shape != (n_l, 1):
            raise ValueError(f"{name}['b{l}'] must have shape (n[{l}], 1) = ({n_l}, 1); got "
                             f"{_describe(b)}" + (" (use b.reshape(-1, 1))" if b.size == n_l else ""))
        if W.size == 0:
            raise ValueError(f"{name}['W{l}'] must not be empty; got shape {W.shape}")
        check_finite(f"{name}['W{l}']", W)
        check_finite(f"{name}['b{l}']", b)
    return tuple(found)


def check_labels(name, Y, output):
    """Labels that fit the output layer: 0/1 for sigmoid, one-hot columns for softmax."""
    if output == "sigmoid":
        if not np.isin(Y, (0, 1)).all():
            bad = np.argwhere(~np.isin(Y, (0, 1)))[0]
            raise ValueError(f"{name} must hold 0/1 labels for a sigmoid output layer; got "
                             f"{Y[tuple(bad)]} at index {tuple(int(i) for i in bad)}")
    elif output == "softmax":
        if Y.shape[0] < 2:
            raise ValueError(f"a softmax output layer needs at least 2 classes; {name} has shape "
                             f"{Y.shape} (use a sigmoid output for binary labels)")
        ok = np.isin(Y, (0, 1)).all(axis=0) & (Y.sum(axis=0) == 1)
        if not ok.all():
            j = int(np.argmin(ok))
            raise ValueError(f"{name} must be one-hot for a softmax output layer (each column of "
                             f"shape (C, m) holds a single 1); column {j} is {Y[:, j].tolist()}")


def default_activations(layer_dims):
    """The chapter's choice: tanh hidden layers; sigmoid output for one unit, softmax for more."""
    return ("tanh",) * (len(layer_dims) - 2) + ("sigmoid" if layer_dims[-1] == 1 else "softmax",)


def prepare(X, Y, parameters, activations, *, dtype=None, rows_ok=False):
    """Validate and convert the inputs of a network function.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    Y : array_like of shape (n_y, m) or None
    parameters : dict of array_like
    activations : sequence of str or None (the chapter's defaults, see ``default_activations``)
    dtype : float32, float64 or None (inferred from X)
    rows_ok : bool
        Keep a Fortran-contiguous X so (see ``check_data``).

    Returns
    -------
    X, Y, params, names, dims, dtype
        ``X``/``Y`` C-contiguous in ``dtype`` (X Fortran-contiguous when given so and
        ``rows_ok``; ``Y`` None if not given), ``params`` a list of
        ``(W, b)`` pairs converted to ``dtype`` (new arrays when conversion was needed; never
        written to), ``names`` the activation names, ``dims`` the layer sizes.
    """
    dt = working_dtype(dtype, X)
    dims = check_parameters(parameters)
    names = default_activations(dims) if activations is None else check_activations(activations, len(dims) - 1)
    X, Y = check_data(X, Y, dims, names, dt, f"W1 has shape {tuple(np.shape(parameters['W1']))}", rows_ok)
    return X, Y, parameter_pairs(parameters, dims, dt), names, dims, dt


def check_data(X, Y, dims, names, dtype, source, rows_ok=False, labels=("X", "Y")):
    """X ``(n_x, m)`` and Y ``(n_y, m)`` (or None) against the layer sizes ``dims`` and the
    output activation ``names[-1]``; returned C-contiguous in ``dtype``. ``source`` says
    where n_x comes from, for the error message (e.g. "W1 has shape (4, 2)"); ``labels``
    are the arguments' names in messages (e.g. "validation[0]").

    ``rows_ok``: a Fortran-contiguous X — the transpose ``X_rows.T`` of data held with one
    example per row, ``(m, n_x)`` C-contiguous, as scikit-learn and the MNIST files hold
    it — is kept as it is (the kernels read it in place) instead of being copied."""
    xn, yn = labels
    X = as_matrix(xn, X, dtype, shape_doc="(n_x, m)", order="K" if rows_ok else "C")
    if X.shape[0] != dims[0]:
        raise ValueError(f"{xn} must have n_x = {dims[0]} rows ({source}); "
                         f"got {xn} of shape {X.shape}" + (" (transposed?)" if X.shape[1] == dims[0] else ""))
    if Y is not None:
        Y_given = as_real_array(yn, Y, allow_bool=True)
        Y = as_matrix(yn, Y_given, dtype, shape_doc="(n_y, m)", allow_bool=True)
        if Y.shape[0] != dims[-1]:
            raise ValueError(f"{yn} must have n_y = {dims[-1]} rows (the output layer size); got {yn} of shape "
                             f"{Y.shape}" + (" (transposed?)" if Y.shape[1] == dims[-1] else ""))
        if Y.shape[1] != X.shape[1]:
            raise ValueError(f"{xn} and {yn} must have the same number of examples m (columns); got {xn} of "
                             f"shape {X.shape} and {yn} of shape {Y.shape}")
        check_labels(yn, Y_given, names[-1])  # as given: float32 rounding could make 1+1e-9 a 1
    return X, Y


def parameter_pairs(parameters, dims, dtype):
    """``[(W1, b1), ...]`` of a checked parameter dict, converted to ``dtype``."""
    def convert(key):
        name = f"parameters[{key!r}]"
        return to_dtype(name, as_real_array(name, parameters[key]), dtype)
    return [(convert(f"W{l}"), convert(f"b{l}")) for l in range(1, len(dims))]


def check_linear(A_prev, W, b=None, dZ=None):
    """The arguments of ``linear_forward`` (A_prev, W, b) and ``linear_backward`` (dZ, A_prev, W).

    Returns them as finite C-contiguous float arrays of A_prev's working dtype (None stays None).
    """
    dt = working_dtype(None, A_prev)
    A_prev = as_matrix("A_prev", A_prev, dt, shape_doc="(n[l-1], m)")
    W = as_matrix("W", W, dt, shape_doc="(n[l], n[l-1])")
    if W.shape[1] != A_prev.shape[0]:
        raise ValueError(f"W must have n[l-1] = {A_prev.shape[0]} columns to multiply A_prev of shape "
                         f"{A_prev.shape}; got W of shape {W.shape}"
                         + (" (transposed?)" if W.shape[0] == A_prev.shape[0] else ""))
    if b is not None:
        b = as_matrix("b", b, dt, shape_doc="(n[l], 1)")
        if b.shape != (W.shape[0], 1):
            raise ValueError(f"b must have shape (n[l], 1) = ({W.shape[0]}, 1); got {_describe(b)}")
    if dZ is not None:
        dZ = as_matrix("dZ", dZ, dt, shape_doc="(n[l], m)")
        if dZ.shape != (W.shape[0], A_prev.shape[1]):
            raise ValueError(f"dZ must have shape (n[l], m) = {(W.shape[0], A_prev.shape[1])}; got {dZ.shape}")
    return A_prev, W, b, dZ


def check_cost_args(A2, Y):
    """The arguments of ``compute_cost``: probabilities ``A2 (n_y, m)`` in [0, 1] and labels
    ``Y`` of the same shape — 0/1 when n_y = 1, one-hot columns otherwise (6.9.4)."""
    A2 = as_matrix("A2", A2, working_dtype(None, A2), shape_doc="(n_y, m)")
    Y = as_matrix("Y", Y, A2.dtype, shape_doc="(n_y, m)", allow_bool=True)
    if A2.shape != Y.shape:
        raise ValueError(f"A2 and Y must have the same shape (n_y, m); got {A2.shape} and {Y.shape}")
    if A2.min() < 0 or A2.max() > 1:
        raise ValueError(f"A2 must hold probabilities in [0, 1]; got values from {A2.min()} to {A2.max()}")
    check_labels("Y", Y, "sigmoid" if Y.shape[0] == 1 else "softmax")
    return A2, Y


def check_cache(cache, X, params):
    """The ``cache`` of ``forward_propagation``: ``Z1, A1, ..., ZL, AL`` of shape ``(n[l], m)``.

    Returns a new dict of arrays converted to X's dtype.
    """
    if not isinstance(cache, Mapping):
        raise TypeError(f"cache must be the dict returned by forward_propagation; got {type(cache).__name__}")
    out = {}
    for l, (W, _) in enumerate(params, start=1):
        for kind in "ZA":
            key = f"{kind}{l}"
            if key not in cache:
                raise ValueError(f"cache is missing {key!r}; pass the cache returned by forward_propagation")
            out[key] = as_matrix(f"cache[{key!r}]", cache[key], X.dtype, shape_doc=f"(n[{l}], m)")
            if out[key].shape != (W.shape[0], X.shape[1]):
                raise ValueError(f"cache[{key!r}] must have shape (n[{l}], m) = {(W.shape[0], X.shape[1])}; "
                                 f"got {out[key].shape}")
    return out


def check_update(parameters, grads, learning_rate):
    """The arguments of ``update_parameters``.

    Returns ``(params, grads, lr)``: lists of ``(W, b)`` and ``(dW, db)`` pairs in the
    parameters' float dtype, and the learning rate as a float.
    """
    dims = check_parameters(parameters)
    lr = check_learning_rate(learning_rate)
    if not isinstance(grads, Mapping):
        raise TypeError(f"grads must be a dict with keys dW1, db1, ...; got {type(grads).__name__}")
    dt = working_dtype(None, np.asarray(parameters["W1"]))
    pairs = []
    for l in range(1, len(dims)):
        pair = []
        for kind in "Wb":
            key, gkey = f"{kind}{l}", f"d{kind}{l}"
            if gkey not in grads:
                raise ValueError(f"grads is missing {gkey!r} (needed to update {key!r})")
            g = as_real_array(f"grads[{gkey!r}]", grads[gkey])
            if g.shape != np.shape(parameters[key]):
                raise ValueError(f"grads[{gkey!r}] must have the shape of parameters[{key!r}], "
                                 f"{np.shape(parameters[key])}; got {g.shape}")
            pair.append(to_dtype(f"grads[{gkey!r}]", g, dt))  # finite, in the parameters' dtype
        pairs.append(tuple(pair))
    params = parameter_pairs(parameters, dims, dt)
    return params, pairs, lr
