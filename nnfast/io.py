"""Save and load a trained network as a plain ``.npz`` archive: arrays only, never pickle.

File layout (format ``"nnfast-model/2"``; version 1 files, without the optimizer keys, are
read too), one ``.npy`` member per key:

==============  ==============================  =========================================
key             dtype                           shape
==============  ==============================  =========================================
``format``      unicode                         () -- the format version string
``layer_dims``  int64                           (L+1,) -- ``(n_x, n_1, ..., n_L)``
``activations`` unicode (fixed width)           (L,) -- one activation name per layer
``costs``       float32 or float64              (n_records,) -- may be empty
``W1``..``WL``  float32 or float64 (all alike)  ``(n[l], n[l-1])``
``b1``..``bL``  same as the W                   ``(n[l], 1)``
==============  ==============================  =========================================

and, when the result has an ``optimizer_state`` (every ``train`` result has one), to
continue the run: ``optimizer`` (unicode, the optimizer's name), ``optimizer_step`` and
``optimizer_epoch`` (int64, ``()``), and ``state_<buffer>_<W1..bL>`` for each buffer of
that optimizer (``v``; ``s``; ``m`` and ``v``), shaped and typed like the parameters.

``load`` reads with ``allow_pickle=False`` and checks every key before building a
:class:`~nnfast.api.TrainResult`, so a file that loads is a network ``predict`` can run.
``TrainResult.backend`` and ``TrainResult.extra`` describe a training run, not the network,
and are not stored: a loaded result has their defaults (``extra["optimizer"]`` aside, kept
with the optimizer's state).
"""

import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from . import optimizers
from ._validate import check_activations, check_finite, check_layer_dims, check_optimizer_state, check_parameters
from .api import TrainResult

__all__ = ["save", "load", "FORMAT"]

#: The version string written to the ``format`` key.
FORMAT = "nnfast-model/2"
_KNOWN_FORMATS = ("nnfast-model/1", FORMAT)
_CORE_KEYS = ("format", "layer_dims", "activations", "costs")
_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _check_path(path):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name (str or os.PathLike); got {type(path).__name__}")
    return Path(path)


def _param_keys(n_layers):
    return [f"{kind}{l}" for l in range(1, n_layers + 1) for kind in "Wb"]


def _state_keys(optimizer, n_layers):
    return [f"state_{name}_{key}" for name in optimizer.buffers for key in _param_keys(n_layers)]


def _optimizer_of(result):
    """The optimizer a result's state belongs to (its ``extra["optimizer"]``; SGD when a
    result carries no name)."""
    return optimizers.get(result.extra.get("optimizer", "sgd"))


def _check_float_dtypes(where, parameters):
    """All parameters float32, or all float64: the one working dtype a network runs in."""
    dtypes = {key: np.asarray(value).dtype for key, value in parameters.items()}
    for key, dt in dtypes.items():
        if dt not in _FLOAT_DTYPES:
            raise TypeError(f"{where}['{key}'] must be float32 or float64; got dtype {dt}")
    if len(set(dtypes.values())) > 1:
        found = ", ".join(f"{key} {dt}" for key, dt in dtypes.items())
        raise TypeError(f"{where} must all have one dtype (float32 or float64); got {found}")


def _check_costs(where, costs):
    """A 1-D finite float32/float64 array (possibly empty)."""
    costs = np.asarray(costs)
    if costs.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{where} must be a float32 or float64 array; got dtype {costs.dtype}")
    if costs.ndim != 1:
        raise ValueError(f"{where} must be 1-D, shape (n_records,); got shape {costs.shape}")
    check_finite(where, costs)
    return costs


def save(path, result):
    """Write a trained network to ``path`` as an ``.npz`` archive (no pickle).

    The result is checked first (as ``load`` would check the file), so a file that
    ``save`` writes always loads. The file is written under a temporary name and then
    renamed, so an interrupted ``save`` never leaves a half-written file at ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write, used as given (no ``.npz`` is appended).
    result : nnfast.api.TrainResult
        ``parameters`` (``W1..WL`` of shape ``(n[l], n[l-1])``, ``b1..bL`` of shape
        ``(n[l], 1)``, all float32 or all float64, finite), ``costs`` (1-D float, finite),
        ``layer_dims`` and ``activations``.

    Raises
    ------
    TypeError
        ``path`` or ``result`` of the wrong type, or arrays of the wrong dtype.
    ValueError
        Shapes that do not chain, unknown activations, non-finite values.
    """
    path = _check_path(path)
    if not isinstance(result, TrainResult):
        raise TypeError(f"result must be an nnfast TrainResult; got {type(result).__name__}")
    try:
        dims = check_layer_dims(result.layer_dims)
        names = check_activations(result.activations, len(dims) - 1)
        check_parameters(result.parameters, dims, name="result.parameters")
        _check_float_dtypes("result.parameters", result.parameters)
        costs = _check_costs("result.costs", result.costs)
        state = None
        if result.optimizer_state is not None:
            opt = _optimizer_of(result)
            dtype = np.asarray(result.parameters["W1"]).dtype
            state = check_optimizer_state(result.optimizer_state, opt, dims, dtype)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"cannot save to {path}: {exc}") from None
    arrays = {
        "format": np.array(FORMAT),
        "layer_dims": np.array(dims, dtype=np.int64),
        "activations": np.array(names, dtype=str),
        "costs": costs,
    }
    arrays.update({key: np.asarray(result.parameters[key]) for key in _param_keys(len(dims) - 1)})
    if state is not None:
        arrays["optimizer"] = np.array(opt.name)
        arrays["optimizer_step"] = np.array(state["step"], dtype=np.int64)
        arrays["optimizer_epoch"] = np.array(state["epoch"], dtype=np.int64)
        for name in opt.buffers:
            for key in _param_keys(len(dims) - 1):
                arrays[f"state_{name}_{key}"] = state[name][key]
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read_key(npz, key, path):
    """One array of the archive; a member that cannot be read is a ValueError naming it."""
    try:
        return npz[key]
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise ValueError(f"{path}: key {key!r} is corrupt or truncated: {exc}") from exc
    except ValueError as exc:
        # np.load(allow_pickle=False) refuses object arrays with a ValueError; a malformed
        # .npy header fails the same way. Its own message tells the two apart.
        raise ValueError(f"{path}: key {key!r} must be a plain numeric or text array (nnfast "
                         f"never unpickles): {exc}") from exc


def _text(value, key, path, ndim):
    """A unicode array of ``ndim`` dimensions as str / tuple of str."""
    if value.dtype.kind != "U":
        raise TypeError(f"{path}: key {key!r} must be a unicode text array; "
                        f"got dtype {value.dtype}")
    if value.ndim != ndim:
        raise ValueError(f"{path}: key {key!r} must be {ndim}-D; got shape {value.shape}")
    return str(value) if ndim == 0 else tuple(str(s) for s in value)


def load(path):
    """Read a network written by :func:`save`, checking everything before returning it.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    nnfast.api.TrainResult
        ``parameters`` (``W1..WL``, ``b1..bL`` in the file's float dtype), ``costs``,
        ``layer_dims`` (tuple of int) and ``activations`` (tuple of str).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        The file is not an nnfast model file: not a zip archive, truncated or corrupt, an
        object (pickled) array inside, a missing or unexpected key, an unknown format
        version, bad ``layer_dims``, unknown activation names or the wrong number of them,
        shapes that do not chain, NaN or infinite values. The message names the file, the
        key, what was expected and what was found.
    TypeError
        ``path`` of the wrong type, or an array of the wrong dtype in the file (integer or
        complex parameters, non-integer ``layer_dims``, non-text ``activations``).
    """
    path = _check_path(path)
    with open(path, "rb") as f:
        head = f.read(4)
    # A zip archive starts with "PK"; checking first avoids np.load's confusing message
    # about pickles for any other file.
    if head[:2] != b"PK":
        raise ValueError(f"{path}: not an nnfast model file: expected an .npz (zip) archive, "
                         f"which starts with b'PK', but the file starts with {head!r}")
    try:
        npz = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npz archive (truncated or corrupt?): "
                         f"{exc}") from exc
    with npz:
        keys = set(npz.files)
        missing = [key for key in _CORE_KEYS if key not in keys]
        if missing:
            raise ValueError(f"{path}: not an nnfast model file: missing key(s) {missing}; "
                             f"expected {list(_CORE_KEYS)} and W1, b1, ..., WL, bL")

        version = _text(_read_key(npz, "format", path), "format", path, ndim=0)
        if version not in _KNOWN_FORMATS:
            raise ValueError(f"{path}: unknown format version {version!r}; this nnfast reads "
                             f"{list(_KNOWN_FORMATS)}")

        layer_dims = _read_key(npz, "layer_dims", path)
        if layer_dims.dtype.kind not in "iu":
            raise TypeError(f"{path}: key 'layer_dims' must be an integer array; got dtype "
                            f"{layer_dims.dtype}")
        if layer_dims.ndim != 1:
            raise ValueError(f"{path}: key 'layer_dims' must be 1-D, (n_x, n_1, ..., n_L); got "
                             f"shape {layer_dims.shape}")
        try:
            dims = check_layer_dims(tuple(int(n) for n in layer_dims))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{path}: key 'layer_dims': {exc}") from None
        n_layers = len(dims) - 1

        expected = set(_CORE_KEYS) | set(_param_keys(n_layers))
        opt = None
        if "optimizer" in keys:
            try:
                opt = optimizers.get(_text(_read_key(npz, "optimizer", path), "optimizer", path, ndim=0))
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"{path}: key 'optimizer': {exc}") from None
            expected |= {"optimizer", "optimizer_step", "optimizer_epoch", *_state_keys(opt, n_layers)}
        missing, extra = sorted(expected - keys), sorted(keys - expected)
        if missing or extra:
            found = "; ".join(f"{what} {keys_}" for what, keys_ in
                              (("missing", missing), ("unexpected", extra)) if keys_)
            raise ValueError(f"{path}: keys do not match layer_dims {list(dims)}, which needs "
                             f"{list(_CORE_KEYS)} and W1..W{n_layers}, b1..b{n_layers}: {found}")

        names = _text(_read_key(npz, "activations", path), "activations", path, ndim=1)
        costs = _read_key(npz, "costs", path)
        parameters = {key: _read_key(npz, key, path) for key in _param_keys(n_layers)}
        state = None
        if opt is not None:
            counts = {}
            for what in ("step", "epoch"):
                value = _read_key(npz, f"optimizer_{what}", path)
                if value.dtype.kind not in "iu" or value.ndim != 0:
                    raise TypeError(f"{path}: key 'optimizer_{what}' must be an integer scalar; got dtype "
                                    f"{value.dtype}, shape {value.shape}")
                counts[what] = int(value)
            state = {**counts, **{name: {key: _read_key(npz, f"state_{name}_{key}", path)
                                         for key in _param_keys(n_layers)} for name in opt.buffers}}

    try:
        names = check_activations(names, n_layers)
        costs = _check_costs("key 'costs'", costs)
        _check_float_dtypes("parameters", parameters)
        check_parameters(parameters, dims)
        if state is not None:
            state = check_optimizer_state(state, opt, dims, parameters["W1"].dtype)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{path}: {exc}") from None
    extra = {} if opt is None else {"optimizer": opt.name}
    return TrainResult(parameters=parameters, costs=costs, layer_dims=dims, activations=names, extra=extra,
                       optimizer_state=state)
