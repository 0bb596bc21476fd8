"""The grid file of ``nnfast sweep --grid FILE``: which data set, the fixed ``train``
arguments, and the lists whose Cartesian product is the sweep, checked before anything
runs.

The file is TOML (``.toml``) or JSON (``.json``) with up to three tables::

    [data]                      # required: the data set
    name = "planar"             # planar, noisy_circles, noisy_moons, blobs,
                                # gaussian_quantiles, no_structure, mnist
    [train]                     # fixed: the same in every configuration
    learning_rate = 1.2
    num_iterations = 2000
    [grid]                      # varied: a list of values per key, one configuration
    hidden = [1, 2, 4, [8, 4]]  # per combination (the last key varies fastest)
    optimizer = ["sgd", "adam"]

``[data]`` takes ``name``; ``seed`` (the extra data sets: ``load_extra_datasets(seed)``,
default the chapter's data); ``path`` (mnist: the folder, relative to the grid file's
folder, default ``$NNFAST_MNIST_DIR``) and ``train_size`` (mnist: the first N training
images); ``dtype`` (what the data are held in: float32 for mnist, float64 otherwise, as
``nnfast mnist`` and the chapter do).

``[train]`` and ``[grid]`` take the same keys: ``train``'s keyword arguments that a file
can hold (``ARGUMENTS``) and three of the sweep's own (``SWEEP_KEYS``): ``hidden``, the
hidden layer sizes (a size or a list of sizes: the network is ``n_x, *hidden, n_y`` with
``n_x`` and ``n_y`` from the data set); ``hidden_activation`` (default ``"tanh"``; the
output layer is sigmoid for the two-class data sets, softmax for mnist); ``init``,
``"init_parameters"`` (``nnfast.init_parameters`` from the seed, the default) or
``"chapter"`` (``randn * 0.01`` per weight matrix from ``RandomState(seed)``, W1 first:
with seed 2 exactly the chapter's ``initialize_parameters``).

Defaults that make a configuration give the same numbers wherever it runs: ``seed = 0``,
``threads = 1`` (a sweep's parallelism is across configurations, and the thread count
decides how sums are split) and ``math`` = this process's default (``NNFAST_MATH``).
"""

import difflib
import itertools
import json
import numbers
from dataclasses import dataclass
from pathlib import Path

from . import _config, api, optimizers, schedules
from ._activations import HIDDEN
from ._threads import check_threads
from ._validate import (check_count, check_flag, check_keep_prob, check_l2, check_learning_rate, check_math,
                        working_dtype)
from .datasets import load_extra_datasets

#: The sweep's own keys, beside train's arguments.
SWEEP_KEYS = ("hidden", "hidden_activation", "init")
INITS = ("init_parameters", "chapter")

#: train's arguments a grid file cannot hold, and what to write instead.
NOT_IN_A_FILE = {
    "X": "the data come from [data]",
    "Y": "the data come from [data]",
    "layer_dims": "give the hidden layer sizes as hidden = [...]: n_x and n_y come from the data set",
    "activations": "give hidden_activation = \"...\": the output layer's follows from the data set",
    "parameters": "arrays cannot be written in a grid file; init = \"chapter\" or \"init_parameters\" "
                  "chooses how they are drawn",
    "callback": "the sweep draws its own progress bar",
    "optimizer_state": "arrays cannot be written in a grid file",
    "validation": "arrays cannot be written in a grid file; use validation_fraction",
    "sample_weight": "arrays cannot be written in a grid file; use class_weight",
}

#: Settings every configuration carries unless the file sets them (see the docstring).
DEFAULTS = {"hidden_activation": "tanh", "init": "init_parameters", "seed": 0, "threads": 1,
            "math": _config.MATH}

MNIST = "mnist"
PLANAR = "planar"
#: Which data sets take each key of [data] besides ``name`` (None: all of them).
_DATA_TAKERS = {"seed": "extra", "path": MNIST, "train_size": MNIST, "dtype": None}


def _extra_names():
    """The extra data sets' names, as ``load_extra_datasets`` returns them (1-2 ms)."""
    return tuple(load_extra_datasets())


def dataset_names():
    """Every data set a grid file can name."""
    return (PLANAR, *_extra_names(), MNIST)


# ----------------------------------------------------------------------------------------
# One value of each key, checked with train's own checks (their messages name the
# argument, what was expected and what was given).


def _fraction(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"validation_fraction must be a number in (0, 1); got {value!r} ({type(value).__name__})")
    if not 0 < value < 1:
        raise ValueError(f"validation_fraction must be in (0, 1); got {value!r}")
    return float(value)


def _class_weight(value):
    """"balanced", or a table of class -> weight whose keys are the classes written as
    text (TOML and JSON keys are strings): {"0": 1, "1": 3}."""
    if value == "balanced":
        return value
    if not isinstance(value, dict):
        raise TypeError(f"class_weight must be \"balanced\" or a table {{class: weight}}; got {value!r}")
    weights = {}
    for key, weight in value.items():
        if not (isinstance(key, str) and key.isdigit()):
            raise ValueError(f"class_weight's keys must be classes 0, 1, ... written as text; got {key!r}")
        weights[int(key)] = check_learning_rate(weight, f"class_weight[{key!r}]")
    return weights


def _name(kind, get, registry):
    """A check that a value is one of ``registry``'s names (a file holds names, not
    instances); ``get`` is the module's own lookup, whose error lists the names."""
    def check(value):
        if not isinstance(value, str):
            raise TypeError(f"{kind} must be one of {', '.join(map(repr, registry))}; got {value!r}")
        get(value)
        return value
    return check


def _keep_prob(value):
    """One p for every hidden layer, or a list of one per hidden layer (its length is
    checked per configuration, against ``hidden``)."""
    if isinstance(value, list):
        check_keep_prob(value, len(value) + 1)
        return tuple(float(p) for p in value)
    check_keep_prob(value, 2)
    return float(value)


def _backend(value):
    api._backend(value)
    return value


def _hidden(value):
    sizes = [value] if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    if not isinstance(sizes, list):
        raise TypeError(f"hidden must be a layer size or a list of layer sizes (whole numbers >= 1); "
                        f"got {value!r}")
    return tuple(check_count(f"hidden[{i}]", n, minimum=1) for i, n in enumerate(sizes))


def _choice(key, choices):
    def check(value):
        if value not in choices:
            raise ValueError(f"{key} must be one of {', '.join(map(repr, choices))}; got {value!r}")
        return value
    return check


#: Every key of [train] and [grid], with the check of one value.
CHECKS = {
    "hidden": _hidden,
    "hidden_activation": _choice("hidden_activation", HIDDEN),
    "init": _choice("init", INITS),
    "learning_rate": check_learning_rate,
    "num_iterations": lambda v: check_count("num_iterations", v, minimum=1),
    "epochs": lambda v: check_count("epochs", v, minimum=1),
    "batch_size": lambda v: check_count("batch_size", v, minimum=1),
    "shuffle": lambda v: check_flag("shuffle", v),
    "seed": lambda v: check_count("seed", v),
    "backend": _backend,
    "dtype": lambda v: working_dtype(v).name,
    "math": check_math,
    "threads": check_threads,
    "optimizer": _name("optimizer", optimizers.get, optimizers.OPTIMIZERS),
    "l2": check_l2,
    "schedule": _name("schedule", schedules.get, schedules.SCHEDULES),
    "clip_norm": lambda v: check_learning_rate(v, "clip_norm"),
    "validation_fraction": _fraction,
    "patience": lambda v: check_count("patience", v, minimum=1),
    "min_delta": lambda v: check_l2(v, "min_delta"),
    "class_weight": _class_weight,
    "keep_prob": _keep_prob,
}
#: train's arguments that a grid file can hold.
ARGUMENTS = tuple(key for key in CHECKS if key not in SWEEP_KEYS)


def _checked(where, check, value):
    """``check(value)``, its error said at ``where`` (``grid.learning_rate[2]``)."""
    try:
        return check(value)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}: {exc}") from None


def _unknown(where, key, known):
    if key in NOT_IN_A_FILE:
        return ValueError(f"{where}.{key}: not a grid file key: {NOT_IN_A_FILE[key]}")
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ValueError(f"{where}.{key}: unknown key; {hint}expected one of {', '.join(known)}")


def _table(mapping, where):
    if not isinstance(mapping, dict):
        raise TypeError(f"{where}: expected a table of keys and values; got {mapping!r}")
    return mapping


# ----------------------------------------------------------------------------------------
# The grid


@dataclass(frozen=True)
class Grid:
    """A checked grid: ``data`` (the ``[data]`` table, with its defaults), ``fixed`` (the
    settings shared by every configuration, ``DEFAULTS`` included) and ``varied`` (key ->
    tuple of values, in the file's order); ``source`` names the file in messages and
    ``folder`` is where a relative MNIST path starts."""

    source: str
    data: dict
    fixed: dict
    varied: dict
    folder: Path = Path(".")

    def configurations(self):
        """One dict of settings per combination of the varied values (the last key
        varying fastest), each with every fixed setting."""
        keys = list(self.varied)
        return [{**self.fixed, **dict(zip(keys, values))}
                for values in itertools.product(*self.varied.values())]

    def label(self, config):
        """``hidden=4, learning_rate=0.5``: what sets ``config`` apart in this grid."""
        return ", ".join(f"{key}={format_value(config[key])}" for key in self.varied) or "the only configuration"


def format_value(value):
    """A setting as the table and the CSV show it: hidden sizes as ``8-4``."""
    if isinstance(value, tuple):
        return "-".join(map(str, value))
    if isinstance(value, dict):
        return ";".join(f"{k}:{v:g}" for k, v in value.items())
    return str(value)


def _folder_name(value):
    if not isinstance(value, str):
        raise TypeError(f"path must be a folder name (text); got {value!r}")
    return value


def _data_seed(value):
    seed = check_count("seed", value)
    if seed >= 2**32:
        raise ValueError(f"seed must be in [0, 2**32) (load_extra_datasets' RandomState); got {seed}")
    return seed


#: The check of one value of each key of [data] besides ``name``.
_DATA_CHECKS = {"seed": _data_seed, "path": _folder_name,
                "train_size": lambda v: check_count("train_size", v, minimum=1),
                "dtype": lambda v: working_dtype(v).name}


def _check_data(table):
    data = dict(_table(table, "data"))
    names = dataset_names()
    if "name" not in data:
        raise ValueError(f"data.name: missing; expected one of {', '.join(names)}")
    name = data["name"]
    if name not in names:
        raise ValueError(f"data.name: expected one of {', '.join(names)}; got {name!r}")
    kind = MNIST if name == MNIST else PLANAR if name == PLANAR else "extra"
    for key in [k for k in data if k != "name"]:
        if key not in _DATA_CHECKS:
            raise _unknown("data", key, ("name", *_DATA_CHECKS))
        taker = _DATA_TAKERS[key]
        if taker not in (None, kind):
            whose = f"the extra data sets ({', '.join(_extra_names())})" if taker == "extra" else taker
            raise ValueError(f"data.{key}: only for {whose}; got it with name = {name!r}")
        data[key] = _checked(f"data.{key}", _DATA_CHECKS[key], data[key])
    data.setdefault("dtype", "float32" if kind == MNIST else "float64")
    return data


def _check_configuration(config, where):
    """The rules between keys, as train applies them (and the chapter's init's seed)."""
    full_batch = "batch_size" not in config
    if full_batch and "num_iterations" not in config:
        raise ValueError(f"{where}: num_iterations is missing: give num_iterations (full batch) or "
                         f"batch_size and epochs (mini-batches)")
    if full_batch and "epochs" in config:
        raise ValueError(f"{where}: epochs = {config['epochs']} is for mini-batches: give batch_size too, "
                         f"or num_iterations for full batch")
    if not full_batch and "epochs" not in config:
        raise ValueError(f"{where}: batch_size = {config['batch_size']} needs epochs")
    if not full_batch and "num_iterations" in config:
        raise ValueError(f"{where}: num_iterations = {config['num_iterations']} is for full batch; with "
                         f"batch_size = {config['batch_size']} give epochs")
    if "keep_prob" in config:
        _checked(where, lambda p: check_keep_prob(p, len(config["hidden"]) + 1), config["keep_prob"])
    if config["init"] == "chapter" and config["seed"] >= 2**32:
        raise ValueError(f"{where}: init = \"chapter\" draws from RandomState(seed), which needs a seed in "
                         f"[0, 2**32); got seed = {config['seed']}")


def from_mapping(mapping, source="the grid", folder=Path(".")):
    """A checked ``Grid`` from the file's parsed contents (``{"data": ..., "train": ...,
    "grid": ...}``). Raises TypeError or ValueError naming the file, the key (and the
    list position), what was expected and what was given."""
    try:
        return _from_mapping(_table(mapping, "the file"), source, Path(folder))
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{source}: {exc}") from None


def _from_mapping(mapping, source, folder):
    for key in mapping:
        if key not in ("data", "train", "grid"):
            raise ValueError(f"{key}: unknown table; expected data, train and grid")
    if "data" not in mapping:
        raise ValueError("data: missing; expected a [data] table with name = one of "
                         + ", ".join(dataset_names()))
    data = _check_data(mapping["data"])
    known = tuple(CHECKS)
    fixed = dict(DEFAULTS)
    for key, value in _table(mapping.get("train", {}), "train").items():
        if key not in CHECKS:
            raise _unknown("train", key, known)
        fixed[key] = _checked(f"train.{key}", CHECKS[key], value)
    varied = {}
    for key, values in _table(mapping.get("grid", {}), "grid").items():
        if key not in CHECKS:
            raise _unknown("grid", key, known)
        if key in mapping.get("train", {}):
            raise ValueError(f"grid.{key}: also in [train]; a key is either fixed or varied")
        if not isinstance(values, list) or not values:
            raise TypeError(f"grid.{key}: expected a non-empty list of the values to try; got {values!r}")
        varied[key] = tuple(_checked(f"grid.{key}[{i}]", CHECKS[key], v) for i, v in enumerate(values))
        fixed.pop(key, None)  # a varied default (seed, threads, ...) is no longer fixed
    if "hidden" not in fixed and "hidden" not in varied:
        raise ValueError("hidden: missing; give the hidden layer sizes in [train] (hidden = 4, or "
                         "[8, 4] for two layers) or a list of them in [grid]")
    if "learning_rate" not in fixed and "learning_rate" not in varied:
        raise ValueError("learning_rate: missing; give it in [train] or a list of rates in [grid]")
    grid = Grid(source, data, fixed, varied, folder)
    for index, config in enumerate(grid.configurations()):
        _check_configuration(config, f"configuration {index} ({grid.label(config)})")
    return grid


def _read_toml(path):
    try:
        import tomllib
    except ImportError:  # Python 3.10: tomllib is new in 3.11, tomli is the same parser
        try:
            import tomli as tomllib
        except ImportError:
            raise ValueError(f"{path}: reading TOML on Python 3.10 needs the tomli package "
                             f"(pip install tomli), or write the grid as JSON") from None
    with open(path, "rb") as f:
        try:
            return tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from None


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from None


def read(path):
    """The checked ``Grid`` of the TOML or JSON file ``path`` (by its suffix)."""
    path = Path(path)
    readers = {".toml": _read_toml, ".json": _read_json}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise ValueError(f"{path}: expected a .toml or a .json grid file; got the suffix {path.suffix!r}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such grid file")
    return from_mapping(reader(path), str(path), path.parent)
