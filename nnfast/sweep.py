"""Run a grid of ``train`` configurations (``nnfast.grid``) in this process or on a Dask
cluster, and report the results: a table, a CSV file, a figure.

The data set is loaded once, here (``load_data``); on a cluster it is sent to every worker
once (``nnfast.cluster``), so a worker needs no data folder of its own. Each configuration
is one call of ``run_one``, which trains and measures; its numbers depend only on the
configuration and the data (the grid pins the seed, the thread count and the math mode),
so they are the same in this process and on any worker of the same machine kind.
"""

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import api, plots
from .datasets import load_extra_datasets, load_mnist, load_planar_dataset, one_hot
from .grid import MNIST, PLANAR, format_value


@dataclass(frozen=True)
class Data:
    """A data set in train's layout: ``X (n_x, m)``, the targets ``Y (n_y, m)`` (0/1 for
    the sigmoid output, one-hot for softmax), the class of each example ``y (m,)`` for
    the accuracy, and a test set where the data set has one."""

    name: str
    X: np.ndarray
    Y: np.ndarray
    y: np.ndarray
    output: str
    X_test: np.ndarray = None
    y_test: np.ndarray = None


def load_data(spec, folder=Path(".")):
    """The ``Data`` of a grid's ``[data]`` table (``Grid.data``); a relative MNIST path
    starts at ``folder``. Raises FileNotFoundError or ValueError (MNIST's files)."""
    name, dtype = spec["name"], spec["dtype"]
    if name == MNIST:
        path = spec.get("path")
        X, y, X_test, y_test = load_mnist(None if path is None else Path(folder) / path, dtype=dtype)
        if "train_size" in spec:
            X, y = np.ascontiguousarray(X[:, :spec["train_size"]]), y[:spec["train_size"]]
        return Data(name, X, one_hot(y, 10).astype(dtype), y, "softmax", X_test, y_test)
    X, Y = load_planar_dataset() if name == PLANAR else load_extra_datasets(spec.get("seed"))[name]
    return Data(name, X.astype(dtype), Y, Y.ravel(), "sigmoid")


def chapter_parameters(layer_dims, seed):
    """The chapter's initialisation for any depth: ``W[l] = randn(n[l], n[l-1]) * 0.01``
    drawn from ``RandomState(seed)`` in the order W1, W2, ..., and zero biases. For two
    layers and seed 2 it is ``reference.initialize_parameters`` (what ``nn_model`` uses)."""
    rng = np.random.RandomState(seed)
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters[f"W{l}"] = rng.randn(layer_dims[l], layer_dims[l - 1]) * 0.01
        parameters[f"b{l}"] = np.zeros((layer_dims[l], 1))
    return parameters


@dataclass(frozen=True)
class Outcome:
    """What one configuration gives: the trained parameters, the last recorded cost (of
    the last iteration's forward pass, or the last epoch's mean), the accuracies (test:
    None without a test set) and the seconds ``train`` took."""

    parameters: dict
    activations: tuple
    final_cost: float
    train_accuracy: float
    test_accuracy: float
    seconds: float


def network(config, data):
    """``(layer_dims, activations)`` of ``config`` on ``data``."""
    hidden = config["hidden"]
    dims = (data.X.shape[0], *hidden, data.Y.shape[0])
    return dims, (config["hidden_activation"],) * len(hidden) + (data.output,)


def _accuracy(predictions, labels):
    return float(np.mean(np.asarray(predictions).ravel() == np.asarray(labels).ravel()))


def run_one(config, data):
    """Train ``config`` (a dict of ``Grid.configurations()``) on ``data``; the
    ``Outcome``. TypeError and ValueError from train (the rules that need the data, such
    as a validation_fraction too large for it) come back naming the configuration."""
    settings = {k: v for k, v in config.items() if k not in ("hidden", "hidden_activation", "init")}
    dims, activations = network(config, data)
    parameters = chapter_parameters(dims, config["seed"]) if config["init"] == "chapter" else None
    try:
        start = time.perf_counter()
        result = api.train(data.X, data.Y, dims, activations, parameters=parameters, **settings)
        seconds = time.perf_counter() - start
    except (TypeError, ValueError) as exc:
        label = ", ".join(f"{key}={format_value(value)}" for key, value in config.items())
        raise type(exc)(f"configuration {label}: {exc}") from exc

    def accuracy(X, y):
        return _accuracy(api.predict(result.parameters, X, activations, backend=settings.get("backend", "compiled"),
                                     math=settings["math"], threads=settings["threads"]), y)

    test = None if data.X_test is None else accuracy(data.X_test, data.y_test)
    return Outcome(result.parameters, activations, float(result.costs[-1]), accuracy(data.X, data.y), test, seconds)


def compiled_dtypes(configs, data):
    """The dtypes whose compiled kernels ``configs`` run (train's default dtype is the
    data's), sorted."""
    return sorted({c.get("dtype", data.X.dtype.name) for c in configs if c.get("backend", "compiled") == "compiled"})


def work(configs, data):
    """An estimate of each configuration's time, for the progress bar: passes over the
    data (iterations or epochs) times units (hidden and output). The chapter's small
    networks spend most of an example's time in each unit's activation, so the time of
    6.9.3's sizes grows about as n_h + 1. Divided by the fewest passes, so that the
    chapter's sweep counts n_h + 1 per size."""
    passes = [c.get("num_iterations", c.get("epochs")) for c in configs]
    fewest = min(passes)
    return [p / fewest * (sum(c["hidden"]) + data.Y.shape[0]) for p, c in zip(passes, configs)]


@dataclass(frozen=True)
class Result:
    """One configuration's settings, its outcome and where it ran ("local": this process;
    else the worker's address)."""

    index: int
    config: dict
    outcome: Outcome
    where: str = field(default="local")


def run(configs, data, client=None):
    """Yield a ``Result`` per configuration as each finishes: in order, in this process,
    when ``client`` is None; else on the Dask cluster of ``client`` (the largest first,
    by ``work``), in the order they finish."""
    if client is None:
        for index, config in enumerate(configs):
            yield Result(index, config, run_one(config, data))
        return
    from . import cluster

    for index, outcome, where in cluster.completed(client, run_one, configs, data, priorities=work(configs, data)):
        yield Result(index, configs[index], outcome, where)


# ----------------------------------------------------------------------------------------
# Reporting


def rows(grid, results):
    """One dict per configuration, in the grid's order: ``index``, every setting, the
    final cost, the accuracies, the seconds and where it ran."""
    out = []
    for r in sorted(results, key=lambda r: r.index):
        o = r.outcome
        out.append({"index": r.index, **{k: format_value(v) for k, v in r.config.items()},
                    "final_cost": o.final_cost, "train_accuracy": o.train_accuracy,
                    "test_accuracy": "" if o.test_accuracy is None else o.test_accuracy,
                    "seconds": round(o.seconds, 4), "worker": r.where})
    return out


def write_csv(path, grid, results):
    """The results table as CSV (``rows``); returns ``path``. Floats are written in full
    (``repr``), so the file holds the exact numbers."""
    table = rows(grid, results)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    return Path(path)


def format_table(grid, results):
    """The results as aligned text: the varied settings, then cost, accuracies, seconds
    and (on a cluster) the worker; the fixed settings are said once, above the table."""
    table = rows(grid, results)
    has_test = any(row["test_accuracy"] != "" for row in table)
    columns = (["index", *grid.varied, "final_cost", "train_accuracy"] + (["test_accuracy"] if has_test else [])
               + ["seconds"] + (["worker"] if any(row["worker"] != "local" for row in table) else []))
    heads = {"index": "#", "final_cost": "final cost", "train_accuracy": "train acc", "test_accuracy": "test acc"}

    def cell(column, value):
        if column == "final_cost":
            return f"{value:.6f}"
        if column in ("train_accuracy", "test_accuracy"):
            return f"{value:.4f}"
        if column == "seconds":
            return f"{value:.2f}"
        return str(value)

    lines = [[heads.get(c, c) for c in columns]] + [[cell(c, row[c]) for c in columns] for row in table]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    return "\n".join("  ".join(text.ljust(w) for text, w in zip(line, widths)).rstrip() for line in lines)


def save_accuracies(path, grid, results, title=None):
    """A horizontal bar per configuration: its training accuracy, and its test accuracy
    beside it where the data set has one (``plots``' style and Agg canvas)."""
    ordered = sorted(results, key=lambda r: r.index)
    labels = [f"{r.index}: {grid.label(r.config)}" for r in ordered]
    train = np.array([r.outcome.train_accuracy for r in ordered])
    test = [r.outcome.test_accuracy for r in ordered]
    n = len(ordered)
    fig = plots._figure(figsize=(7.5, 1.2 + 0.32 * n), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(n)
    if all(t is not None for t in test):
        ax.barh(y - 0.2, train, height=0.4, label="training")
        ax.barh(y + 0.2, np.array(test, dtype=float), height=0.4, label="test")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the bars, never over them
    else:
        ax.barh(y, train, height=0.6)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()  # configuration 0 at the top, as in the table
    ax.set_xlim(0, 1)
    ax.set_xlabel("accuracy")
    ax.set_title(title or f"{grid.source}: accuracy per configuration")
    ax.grid(True, axis="x", alpha=0.3)
    return plots._save(fig, path)
