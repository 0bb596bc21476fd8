"""nnfast against its peers: the same training step with NumPy, PyTorch, JAX and scikit-learn.

Every implementation trains the same network on the same data from the same initial
weights with plain SGD (no momentum, no weight decay), the cost being the mean over the
batch of the per-example losses (categorical cross-entropy after a softmax output, binary
cross-entropy after a sigmoid output), and visits the same batches in the same order
(in order, no shuffling; the last batch of an epoch holds the remainder):

- ``nnfast``   the compiled backend (``backend="compiled"``) on all of Numba's threads;
- ``numpy``    nnfast's NumPy reference backend (``backend="reference"``);
- ``torch``    ``nn.Linear`` layers, ``torch.optim.SGD`` and a plain Python loop over the
               batches, ``torch.set_num_threads(os.cpu_count())``;
- ``jax``      the whole run under one ``jax.jit``: ``lax.fori_loop`` over full-batch
               iterations, or over epochs of a ``lax.scan`` over the epoch's batches (float64
               through ``jax_enable_x64``);
- ``sklearn``  ``MLPClassifier(solver="sgd", momentum=0, alpha=0, shuffle=False, warm_start=True)``
               with its weights overwritten by the shared initial ones. It trains in the
               dtype of X (float32 or float64); the table says which it ran in.

Each implementation and dtype runs in its own worker process, so that PyTorch's OpenMP,
Numba's threading layer and XLA's thread pool never share one process on a 2-core
machine. The workers are started as ``python -P .../nnfast/peers.py --worker`` (the file by
its path, not ``-m nnfast.peers``): importing the package ``nnfast`` would import Numba, and
the torch, jax and sklearn workers import nothing of nnfast. The parent process makes the
data, the initial weights and the reference result once and hands them to every worker
as ``.npy`` files. A peer that is not installed is skipped with the reason printed.

Agreement before timing: each worker first trains a short run (full batch: 3 iterations on
up to 1000 examples; mini-batch: 2 epochs over ``3.5 × batch`` examples, so a remainder
batch is included) and compares every parameter with nnfast's NumPy reference on the
scale of its update: ``max |p - p_ref| / max |p_ref - p_0|`` per array, the largest over the
arrays. A peer above the tolerance (1e-9 in float64, 1e-2 in float32: float32 relu
kinks can flip) is not timed, is marked ``FAIL`` in the table, and the run exits with
status 1: a benchmark of different math is worthless.

Timing (never the warm-up call, which compiles, jits or loads caches):

- full batch: the iteration count k doubles until one call takes ``min_time``; the time per
  iteration is ``(best t(2k) - best t(k)) / k`` over the repeats, which cancels the fixed
  cost of a call (validation, copies, the weight reset);
- mini-batch: one call trains one whole epoch; the table's headline is the best wall time
  of such a call (fixed costs included: a few percent of an epoch of hundreds of
  batches), and beside it the per-epoch time ``best t(2 epochs) - best t(1 epoch)`` when a
  1-epoch call takes under ``cheap`` seconds (1 s quick, 2 s full). Medians of the calls
  are in the JSON file.

Repeats stop early once a case has used ``budget`` seconds in one worker (at least one
timed repeat always runs).

The size matrix (``--cases`` filters by substring of the case name, e.g. ``full``, ``b128``,
``784-1024``); m in ``--quick`` in brackets, ``-`` = not in the quick subset:

====================  ======  ====================  =============  =====  ====
case                  hidden  data                  m (quick)      batch  lr
====================  ======  ====================  =============  =====  ====
2-4-1/full            tanh    planar flower         400 (400)      full   1.2
64-32-10/full         tanh    random, digits shape  1797 (1797)    full   0.1
784-25-10/full        tanh    MNIST                 60000 (10000)  full   0.1
784-256-10/full       relu    MNIST                 10000 (-)      full   0.1
784-4-10/b64          relu    MNIST                 60000 (10000)  64     0.05
784-128-10/b128       relu    MNIST                 60000 (10000)  128    0.05
784-256-128-10/b128   relu    MNIST                 60000 (-)      128    0.05
784-512-512-10/b128   relu    MNIST                 60000 (-)      128    0.05
784-1024-10/b256      relu    MNIST                 60000 (-)      256    0.05
784-64-64-64-10/b512  relu    MNIST                 60000 (10000)  512    0.05
====================  ======  ====================  =============  =====  ====

The output layer is a softmax (sigmoid for 2-4-1). Hidden widths 4 to 1024, one to three
hidden layers, full batch and batches of 64 to 512, each in float32 and float64 (``--dtype`` for one). MNIST is read with
``nnfast.datasets.load_mnist`` from ``$NNFAST_MNIST_DIR`` or ``/work/shared/data/mnist``; without
it, standard-normal data of MNIST's shape with random labels (the run says which).

Usage: ``python -m nnfast.peers [--quick] [--impl nnfast,torch] [--cases b128] [--dtype float32]
[--out DIR] [--json FILE] [--check-only]`` or ``python scripts/compare_peers.py ...``.
Installing the peers: ``pip install 'nnfast[peers]'``.
"""

# Nothing of nnfast is imported at module level: the torch, jax and sklearn workers run
# this file by path and must never load Numba. The parent's imports are inside functions.
import argparse
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, replace

import numpy as np

__all__ = ["CASES", "IMPLEMENTATIONS", "PeerCase", "check_peers", "main", "run"]


@dataclass(frozen=True)
class PeerCase:
    """One benchmark case: the network ``dims`` with ``activations`` on ``m`` examples.

    ``batch`` is None for full-batch gradient descent (one step = one iteration), else the
    mini-batch size (one step = one epoch). ``data`` is ``"planar"``, ``"random"`` or
    ``"mnist"``; ``quick_m`` is m in the ``--quick`` subset (None: not in it).
    """

    name: str
    dims: tuple
    activations: tuple
    m: int
    batch: int = None
    data: str = "mnist"
    learning_rate: float = 0.05
    quick_m: int = None


def _relu_case(dims, batch, quick_m=None, m=60000):
    name = "-".join(map(str, dims)) + f"/b{batch}"
    return PeerCase(name, dims, ("relu",) * (len(dims) - 2) + ("softmax",), m, batch, quick_m=quick_m)


CASES = (
    PeerCase("2-4-1/full", (2, 4, 1), ("tanh", "sigmoid"), 400, None, "planar", 1.2, quick_m=400),
    PeerCase("64-32-10/full", (64, 32, 10), ("tanh", "softmax"), 1797, None, "random", 0.1, quick_m=1797),
    PeerCase("784-25-10/full", (784, 25, 10), ("tanh", "softmax"), 60000, None, "mnist", 0.1, quick_m=10000),
    PeerCase("784-256-10/full", (784, 256, 10), ("relu", "softmax"), 10000, None, "mnist", 0.1),
    _relu_case((784, 4, 10), 64, quick_m=10000),
    _relu_case((784, 128, 10), 128, quick_m=10000),
    _relu_case((784, 256, 128, 10), 128),
    _relu_case((784, 512, 512, 10), 128),
    _relu_case((784, 1024, 10), 256),
    _relu_case((784, 64, 64, 64, 10), 512, quick_m=10000),
)

IMPLEMENTATIONS = ("nnfast", "numpy", "torch", "jax", "sklearn")
#: The module each implementation needs, looked up (not imported) by the parent.
_REQUIRES = {"nnfast": "numba", "numpy": "numpy", "torch": "torch", "jax": "jax", "sklearn": "sklearn"}
#: The peers nnfast's speed-up is taken against (sklearn is reported on its own).
_PEERS = ("numpy", "torch", "jax")
TOLERANCE = {"float64": 1e-9, "float32": 1e-2}
#: Defaults of the timing knobs, (quick, full).
_DEFAULTS = {"min_time": (0.05, 0.2), "repeats": (2, 3), "budget": (5.0, 20.0), "cheap": (1.0, 2.0)}


# ----------------------------------------------------------------------------------------
# Shared by the workers: targets, the check and the timing loops. NumPy only.


def _targets(labels, n_y, dtype, rows=False):
    """Labels ``(m,)`` as the targets of the output layer.

    Returns ``(n_y, m)`` (the chapter's layout; ``(m, n_y)`` with ``rows``): the labels
    themselves for one sigmoid output, one-hot columns for softmax.
    """
    Y = labels[None, :] if n_y == 1 else (np.arange(n_y)[:, None] == labels[None, :])
    Y = Y.astype(dtype)
    return np.ascontiguousarray(Y.T) if rows else Y


def _check_setup(case):
    """(m, steps) of the short agreement run: a remainder batch included for mini-batch."""
    if case.batch is None:
        return min(case.m, 1000), 3
    return min(case.m, 3 * case.batch + case.batch // 2), 2


def _relative_difference(params, reference, initial):
    """Largest ``max|p - p_ref| / max|p_ref - p0|`` over the arrays: the error on the
    scale of the update, so that a wrong gradient cannot hide behind the initial weights."""
    worst = 0.0
    for p, ref, p0 in zip(params, reference, initial):
        ref = ref.astype(np.float64)
        step = np.max(np.abs(ref - p0), initial=0.0)
        err = np.max(np.abs(np.asarray(p, np.float64) - ref), initial=0.0)
        worst = max(worst, err / step if step > 0 else (0.0 if err == 0 else math.inf))
    return worst


def _seconds(run, n):
    start = time.perf_counter()
    run(n)
    return time.perf_counter() - start


def _time_full_batch(run, min_time, repeats, budget):
    """Seconds per iteration by ``(best t(2k) - best t(k)) / k``; ``run(n)`` trains n iterations."""
    start = time.perf_counter()
    _seconds(run, 1)  # warm-up: compiles, jits, fills caches; never timed
    k = 1
    while (t := _seconds(run, k)) < min_time:
        k *= 2
    t_k, t_2k = [t], []
    for _ in range(repeats):  # interleaved, so a slow spell of the machine hits both
        t_2k.append(_seconds(run, 2 * k))
        t_k.append(_seconds(run, k))
        if time.perf_counter() - start > budget:
            break
    per = (min(t_2k) - min(t_k)) / k
    if per <= 0:  # noise larger than k iterations: the plain mean instead
        per = min(t_2k) / (2 * k)
    return {"seconds": per, "iterations": k, "call": min(t_k), "call_median": statistics.median(t_k),
            "samples_k": t_k, "samples_2k": t_2k}


def _time_epochs(run, repeats, budget, cheap):
    """Seconds of a 1-epoch call (best and median) and, when a call takes under ``cheap``
    seconds, the per-epoch time ``best t(2) - best t(1)``; ``run(n)`` trains n epochs.

    The call's wall time is the headline: on a shared machine a difference of two noisy
    times can come out at a fraction of either, while the fixed cost it would cancel is a
    small part of an epoch of hundreds of batches.
    """
    start = time.perf_counter()
    _seconds(run, 1)  # warm-up
    t_1, t_2 = [], []
    for _ in range(repeats):
        t_1.append(_seconds(run, 1))
        if min(t_1) < cheap:
            t_2.append(_seconds(run, 2))
        if time.perf_counter() - start > budget:
            break
    diff = min(t_2) - min(t_1) if t_2 else None
    return {"seconds": min(t_1), "call_median": statistics.median(t_1), "epoch_difference": diff,
            "samples_1": t_1, "samples_2": t_2}


# ----------------------------------------------------------------------------------------
# The implementations. Each ``_make_<impl>(X, labels, case, params0, dtype)`` takes the
# chapter's layout (X (n_x, m), labels (m,), params0 [(W (n[l], n[l-1]), b (n[l], 1)), ...])
# and returns (run, parameters, info): ``run(n)`` trains n steps from params0 and returns
# when the work is done, ``parameters()`` gives the last run's weights in the chapter's
# layout, ``info`` a dict for the report. Converting to the peer's own layout (rows, tensors,
# device arrays) happens here, once, outside the timed calls.


class Unsupported(Exception):
    """The peer cannot express this case (the reason is the message)."""


def _output(case):
    out = case.activations[-1]
    if out not in ("softmax", "sigmoid") or (out == "sigmoid") != (case.dims[-1] == 1):
        raise Unsupported(f"output {out} with {case.dims[-1]} units is not benchmarked")
    return out


def _make_nnfast(backend):
    def make(X, labels, case, params0, dtype):
        import nnfast

        Y = _targets(labels, case.dims[-1], dtype)
        initial = {}
        for l, (W, b) in enumerate(params0, 1):
            initial[f"W{l}"], initial[f"b{l}"] = W, b
        steps = ({"batch_size": case.batch, "shuffle": False} if case.batch else {})
        last = {}

        def run(n):
            count = {"epochs": n} if case.batch else {"num_iterations": n}
            last["p"] = nnfast.train(X, Y, case.dims, case.activations, learning_rate=case.learning_rate,
                                     parameters=initial, backend=backend, dtype=dtype,
                                     **steps, **count).parameters

        def parameters():
            return [(last["p"][f"W{l}"], last["p"][f"b{l}"]) for l in range(1, len(params0) + 1)]

        info = {}
        if backend == "compiled":
            from nnfast import _threads
            info["threads"] = _threads.current()
        return run, parameters, info
    return make


def _batches(m, batch):
    """``[(start, stop), ...]``: in order, the last one holding the remainder."""
    size = batch or m
    return [(s, min(s + size, m)) for s in range(0, m, size)]


def _make_torch(X, labels, case, params0, dtype):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(os.cpu_count())
    out = _output(case)
    tdtype = {np.float32: torch.float32, np.float64: torch.float64}[np.dtype(dtype).type]
    x = torch.from_numpy(np.ascontiguousarray(X.T))          # (m, n_x): torch's layout
    if out == "softmax":
        y, loss_fn = torch.from_numpy(labels.astype(np.int64)), F.cross_entropy
    else:
        y, loss_fn = torch.from_numpy(labels.astype(dtype)[:, None]), F.binary_cross_entropy_with_logits
    act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
    hidden = [act[a] for a in case.activations[:-1]]
    # nn.Linear stores weight as (out, in): the chapter's W as it is.
    layers = [torch.nn.Linear(W.shape[1], W.shape[0], dtype=tdtype) for W, _ in params0]
    opt = torch.optim.SGD([p for layer in layers for p in layer.parameters()], lr=case.learning_rate)
    slices = _batches(len(labels), case.batch)

    def run(n):
        with torch.no_grad():
            for layer, (W, b) in zip(layers, params0):
                layer.weight.copy_(torch.from_numpy(W))
                layer.bias.copy_(torch.from_numpy(b[:, 0]))
        for _ in range(n):
            for s, e in slices:
                a = x[s:e]
                for layer, g in zip(layers, hidden):
                    a = g(layer(a))
                loss = loss_fn(layers[-1](a), y[s:e])  # mean over the batch
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

    def parameters():
        return [(l.weight.detach().numpy().copy(), l.bias.detach().numpy()[:, None].copy()) for l in layers]

    return run, parameters, {"threads": torch.get_num_threads()}


def _make_jax(X, labels, case, params0, dtype):
    import jax

    if np.dtype(dtype) == np.float64:
        jax.config.update("jax_enable_x64", True)  # else JAX silently computes in float32
    import jax.numpy as jnp
    from jax import lax

    out = _output(case)
    act = {"relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}
    hidden = [act[a] for a in case.activations[:-1]]
    lr = case.learning_rate

    def loss(params, x, y):
        a = x
        for (W, b), g in zip(params[:-1], hidden):
            a = g(a @ W.T + b)
        W, b = params[-1]
        z = a @ W.T + b
        if out == "softmax":
            return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(z, axis=1), axis=1))
        return jnp.mean(jax.nn.softplus(jnp.where(y > 0, -z, z)))

    grad = jax.grad(loss)

    def step(params, x, y):
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grad(params, x, y))

    x, y = np.ascontiguousarray(X.T), _targets(labels, case.dims[-1], dtype, rows=True)
    m = len(labels)
    if case.batch is None:
        data = (x, y)

        def loop(params, x, y, n):
            return lax.fori_loop(0, n, lambda i, p: step(p, x, y), params)
    else:
        # scan needs equal batches: the full ones stacked (nb, B, ·), the remainder apart.
        nb, B = m // case.batch, case.batch
        data = (x[:nb * B].reshape(nb, B, -1), y[:nb * B].reshape(nb, B, -1), x[nb * B:], y[nb * B:])

        def epoch(p, xb, yb, xr, yr):
            if nb:
                p = lax.scan(lambda q, batch: (step(q, *batch), None), p, (xb, yb))[0]
            return step(p, xr, yr) if xr.shape[0] else p

        def loop(params, xb, yb, xr, yr, n):
            return lax.fori_loop(0, n, lambda i, p: epoch(p, xb, yb, xr, yr), params)

    # Data and weights are arguments, not constants folded into the compiled program.
    data = tuple(jnp.asarray(d) for d in data)
    p0 = tuple((jnp.asarray(W), jnp.asarray(b[:, 0])) for W, b in params0)
    compiled = jax.jit(loop).lower(p0, *data, np.int32(1)).compile()  # n is traced: one compile
    last = {}

    def run(n):
        last["p"] = jax.block_until_ready(compiled(p0, *data, np.int32(n)))

    def parameters():
        return [(np.asarray(W), np.asarray(b)[:, None]) for W, b in last["p"]]

    return run, parameters, {"device": str(jax.devices()[0])}


def _make_sklearn(X, labels, case, params0, dtype):
    from sklearn.neural_network import MLPClassifier

    out = _output(case)
    names = set(case.activations[:-1])
    if len(names) != 1 or not names <= {"relu", "tanh", "sigmoid"}:
        raise Unsupported(f"sklearn needs one hidden activation of relu/tanh/logistic; got {names}")
    if out == "softmax" and case.dims[-1] < 3:
        raise Unsupported("sklearn uses a logistic output for two classes")
    x, m = np.ascontiguousarray(X.T), len(labels)
    clf = MLPClassifier(hidden_layer_sizes=case.dims[1:-1], activation=names.pop().replace("sigmoid", "logistic"),
                        solver="sgd", learning_rate="constant", learning_rate_init=case.learning_rate,
                        momentum=0.0, nesterovs_momentum=False, alpha=0.0, batch_size=case.batch or m,
                        shuffle=False, early_stopping=False, warm_start=True, max_iter=1, tol=0.0,
                        n_iter_no_change=2**31 - 1)
    # A throwaway fit creates sklearn's attributes (classes, layer shapes, dtype); its
    # weights are then overwritten in place with the shared initial ones before every run.
    first = slice(0, min(m, 2000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(x[first], labels[first])
    classes = np.arange(max(case.dims[-1], 2))
    if not np.array_equal(clf.classes_, classes):
        raise Unsupported(f"the first {first.stop} labels do not hold every class {classes.tolist()}")

    def run(n):
        for c, i, (W, b) in zip(clf.coefs_, clf.intercepts_, params0):
            c[...] = W.T       # sklearn's coefs_ are (n[l-1], n[l])
            i[...] = b[:, 0]
        clf.max_iter = n       # one epoch per iteration of fit; full batch: batch_size = m
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning after max_iter
            clf.fit(x, labels)

    def parameters():
        return [(c.T.copy(), i[:, None].copy()) for c, i in zip(clf.coefs_, clf.intercepts_)]

    return run, parameters, {"dtype": clf.coefs_[0].dtype.name}


_MAKERS = {"nnfast": _make_nnfast("compiled"), "numpy": _make_nnfast("reference"),
           "torch": _make_torch, "jax": _make_jax, "sklearn": _make_sklearn}


# ----------------------------------------------------------------------------------------
# The worker process: one implementation, one dtype, every case.


def _load_case(folder, index, dtype):
    """(X, labels, params0, reference) of case ``index`` from the parent's files."""
    with np.load(os.path.join(folder, f"case{index}_{dtype}.npz")) as f:
        X = np.load(os.path.join(folder, str(f["data"])))
        labels = np.load(os.path.join(folder, str(f["labels"])))
        L = int(f["layers"])
        params0 = [(f[f"W{l}"], f[f"b{l}"]) for l in range(1, L + 1)]
        reference = [(f[f"refW{l}"], f[f"refb{l}"]) for l in range(1, L + 1)]
    return X, labels, params0, reference


def _flat(pairs):
    return [a for pair in pairs for a in pair]


def _agreement(make, X, labels, case, params0, reference, dtype):
    """The short run's largest relative difference from nnfast's reference."""
    m, steps = _check_setup(case)
    small = replace(case, m=m)
    run, parameters, _ = make(np.ascontiguousarray(X[:, :m]), labels[:m], small, params0, dtype)
    run(steps)
    return _relative_difference(_flat(parameters()), _flat(reference), _flat(params0))


def _work_case(spec, index, case):
    dtype = np.dtype(spec["dtype"])
    make = _MAKERS[spec["impl"]]
    X, labels, params0, reference = _load_case(spec["folder"], index, dtype.name)
    try:
        diff = _agreement(make, X, labels, case, params0, reference, dtype)
    except Unsupported as exc:
        return {"skipped": str(exc)}
    result = {"difference": float(diff), "agrees": bool(diff <= TOLERANCE[dtype.name])}
    if not result["agrees"] or spec["check_only"]:
        return result
    run, _, info = make(X, labels, case, params0, dtype)
    if case.batch is None:
        result.update(_time_full_batch(run, spec["min_time"], spec["repeats"], spec["budget"]))
    else:
        result.update(_time_epochs(run, spec["repeats"], spec["budget"], spec["cheap"]))
    result["info"] = info
    return result


def _worker(spec):
    """Check (and time, unless ``check_only``) ``spec["cases"]`` with one implementation."""
    warnings.simplefilter("ignore", RuntimeWarning)  # nnfast's divergence warning: the check judges
    results = []
    for index, fields in spec["cases"]:
        case = PeerCase(**{**fields, "dims": tuple(fields["dims"]), "activations": tuple(fields["activations"])})
        started = time.perf_counter()
        results.append(_work_case(spec, index, case))
        print(f"  [{spec['impl']} {spec['dtype']}] {case.name}: {time.perf_counter() - started:.1f} s",
              file=sys.stderr, flush=True)
    return {"results": results, "versions": _versions(spec["impl"])}


def _versions(impl):
    """Library versions and threading as seen inside the worker; the peers' workers also
    say whether Numba got into their process (it must not)."""
    if impl != "nnfast":
        return {**({} if impl == "numpy" else _peer_versions(impl)), "numba loaded": "numba" in sys.modules}
    from nnfast import _threads
    return {"nnfast threads": _threads.current()}


def _peer_versions(impl):
    if impl == "torch":
        import torch
        return {"torch": torch.__version__, "threads": torch.get_num_threads(),
                "parallel": torch.__config__.parallel_info().splitlines()[-1].strip()}
    if impl == "jax":
        import jax
        return {"jax": jax.__version__, "devices": str(jax.devices())}
    import sklearn
    return {"sklearn": sklearn.__version__}


# ----------------------------------------------------------------------------------------
# The parent: data, reference, workers.


def _mnist_data():
    """(X (784, m) float64, labels (m,), description) from MNIST, or None if not found."""
    from .datasets import MNIST_ENV_VAR, load_mnist

    folder = os.environ.get(MNIST_ENV_VAR) or "/work/shared/data/mnist"
    try:
        X, y, _, _ = load_mnist(folder)
    except (FileNotFoundError, ValueError) as exc:
        return None, f"random N(0, 1) of MNIST's shape (MNIST not loaded: {str(exc).splitlines()[0]})"
    return (X, y), f"MNIST from {folder}"


def _make_data(case, cache):
    """(X (n_x, m) float64, labels (m,) int64) of ``case``; ``cache`` keeps MNIST read once."""
    from .compare import Case, make_problem

    if case.data == "mnist":
        if "mnist" not in cache:
            cache["mnist"], cache["mnist_source"] = _mnist_data()
        if cache["mnist"] is not None and cache["mnist"][0].shape[1] >= case.m:
            X, y = cache["mnist"]
            return np.ascontiguousarray(X[:, :case.m]), y[:case.m]
    if case.data == "planar":
        X, Y = make_problem(Case(case.name, case.dims, case.activations, case.m))
        return X, Y[0].astype(np.int64)
    # Random labels of both classes for a sigmoid output too (make_problem's are all 0 there).
    rng = np.random.default_rng(case.m)
    return rng.standard_normal((case.dims[0], case.m)), rng.integers(0, max(case.dims[-1], 2), case.m)


def _write_problems(cases, dtypes, folder):
    """Write every case's data, initial weights and reference result; returns the data notes."""
    import nnfast

    cache, notes, written = {}, {}, set()
    for index, case in enumerate(cases):
        X64, labels = _make_data(case, cache)
        notes[case.name] = (cache.get("mnist_source", "") if case.data == "mnist"
                            else {"planar": "planar flower", "random": "random N(0, 1)"}[case.data])
        key = f"{case.data}{case.m}x{case.dims[0]}"
        np.save(os.path.join(folder, f"labels_{key}.npy"), labels)
        for dt in dtypes:
            data_file = f"data_{key}_{dt}.npy"
            if data_file not in written:
                np.save(os.path.join(folder, data_file), X64.astype(dt))
                written.add(data_file)
            params0 = nnfast.init_parameters(case.dims, case.activations, seed=index, dtype=dt)
            ref = _reference(X64.astype(dt), labels, case, params0, dt)
            arrays = {**params0, **{f"ref{k}": v for k, v in ref.items()}}
            np.savez(os.path.join(folder, f"case{index}_{dt}.npz"), data=data_file, labels=f"labels_{key}.npy",
                     layers=len(case.dims) - 1, **arrays)
    return notes


def _reference(X, labels, case, params0, dtype):
    """nnfast's NumPy reference after the short agreement run (see ``_check_setup``)."""
    import nnfast

    m, steps = _check_setup(case)
    Y = _targets(labels[:m], case.dims[-1], dtype)
    kw = {"batch_size": case.batch, "epochs": steps, "shuffle": False} if case.batch else {"num_iterations": steps}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return nnfast.train(X[:, :m], Y, case.dims, case.activations, learning_rate=case.learning_rate,
                            parameters=params0, backend="reference", dtype=dtype, **kw).parameters


#: Runs the script sys.argv[1] as __main__ with neither its own folder nor the current one
#: on sys.path (what Python 3.11's -P does, on 3.10 too): nnfast/, with io.py and
#: datasets.py, must not shadow the standard library's modules.
_RUN_SCRIPT = ("import runpy, sys; sys.path.pop(0); sys.argv = sys.argv[1:]; "
               "runpy.run_path(sys.argv[0], run_name='__main__')")


def run_worker_process(script, spec):
    """``script --worker`` in a new Python process, ``spec`` as JSON on its stdin and the
    repository root first on PYTHONPATH (so the worker imports this checkout, and only
    what it asks for: the torch and JAX workers never load Numba). Returns the JSON the
    worker prints as a dict, or ``{"error": reason}``; its stderr goes to ours."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", _RUN_SCRIPT, os.path.abspath(script), "--worker"],
                          input=json.dumps(spec), stdout=subprocess.PIPE, text=True, env=env, check=False)
    if proc.returncode != 0:
        return {"error": f"worker exited with status {proc.returncode} (its stderr is above)"}
    return json.loads(proc.stdout)


def _run_worker(impl, dtype, cases, folder, settings):
    """Start the worker process for ``impl``; its output dict, or ``{"error": reason}``."""
    spec = {"impl": impl, "dtype": dtype, "folder": folder, **settings,
            "cases": [(i, asdict(c)) for i, c in cases]}
    return run_worker_process(__file__, spec)


def missing_module(module, hint=""):
    """None if ``module`` is installed here, else the reason (looked up, not imported)."""
    return f"{module} is not installed{hint}" if importlib.util.find_spec(module) is None else None


def available(impl):
    """None if ``impl`` can run here, else the reason it cannot."""
    return missing_module(_REQUIRES[impl], " (pip install 'nnfast[peers]')")


def _run_all(cases, impls, dtypes, settings, log=print):
    """{(impl, dtype): worker output} for every runnable implementation; skips are logged."""
    outputs = {}
    with tempfile.TemporaryDirectory(prefix="nnfast-peers-") as folder:
        notes = _write_problems(cases, dtypes, folder)
        indexed = list(enumerate(cases))
        for dtype in dtypes:
            for impl in impls:
                reason = available(impl)
                if reason:
                    if dtype == dtypes[0]:
                        log(f"  skip     {impl}: {reason}")
                    continue
                outputs[impl, dtype] = _run_worker(impl, dtype, indexed, folder, settings)
    return outputs, notes


def check_peers(cases, impls=IMPLEMENTATIONS, dtypes=("float64",)):
    """The agreement check alone, nothing timed; workers run as in a full run.

    Returns
    -------
    dict
        ``{(impl, dtype): {"cases": {case name: result}, "worker": {...}}}`` for every
        installed implementation. A result has ``difference`` and ``agrees`` (or
        ``skipped``); a failed worker has ``{"error": reason}`` instead of ``cases``.
    """
    cases = list(cases)
    settings = {"check_only": True, "min_time": 0, "repeats": 0, "budget": 0, "cheap": 0}
    outputs, _ = _run_all(cases, impls, list(dtypes), settings, log=lambda *_: None)
    found = {}
    for key, output in outputs.items():
        if "error" in output:
            found[key] = output
        else:
            found[key] = {"cases": {c.name: r for c, r in zip(cases, output["results"])},
                          "worker": output["versions"]}
    return found


# ----------------------------------------------------------------------------------------
# The report.


def _machine(impls):
    """Machine and library versions (nnfast.compare's, plus the peers' from their metadata)."""
    from importlib.metadata import PackageNotFoundError, version

    from .compare import machine_info

    info = machine_info()
    for impl, dist in (("torch", "torch"), ("jax", "jax"), ("sklearn", "scikit-learn")):
        try:
            info[impl] = version(dist) + ("" if impl in impls else " (not run)")
        except PackageNotFoundError:
            info[impl] = "not installed"
    return info


def _cell(result, key="seconds"):
    from .compare import _fmt_time

    if result is None:
        return "—"
    if "error" in result:
        return "error"
    if "skipped" in result:
        return "n/a"
    if not result["agrees"]:
        return "FAIL"
    return _fmt_time(result.get(key))


def _speedups(results):
    """(fastest peer / nnfast, sklearn / nnfast), None where a time is missing."""
    def t(impl):
        r = results.get(impl)
        return r.get("seconds") if r and r.get("agrees") else None

    mine = t("nnfast")
    peers = [t(p) for p in _PEERS if t(p)]
    fastest = min(peers) / mine if mine and peers else None
    sk = t("sklearn") / mine if mine and t("sklearn") else None
    return fastest, sk


def _diff_cell(result):
    if not result or "difference" not in result:
        return "—"
    return f"{result['difference']:.1e}" + ("" if result["agrees"] else " FAIL")


def _table(rows, impls, mini):
    """Text table; ``rows`` = [(case, dtype, {impl: result})] of one kind (full or mini-batch)."""
    from .compare import _fmt

    timed = "1-epoch call, best" if mini else "time per iteration"
    groups = [("", ["case", "m", "dtype"]), (timed, list(impls)), ("nnfast speed-up", ["vs peers", "vs sklearn"])]
    if mini:
        groups.append(("per epoch: t(2 epochs) - t(1)", list(impls)))
    groups.append(("max rel. diff vs NumPy ref", [i for i in impls if i != "numpy"]))
    body = []
    for case, dtype, results in rows:
        fastest, sk = _speedups(results)
        line = [case.name, str(case.m), dtype] + [_cell(results.get(i)) for i in impls] + [_fmt(fastest, ".2f"), _fmt(sk, ".2f")]
        if mini:
            line += [_cell(results.get(i), "epoch_difference") for i in impls]
        line += [_diff_cell(results.get(i)) for i in impls if i != "numpy"]
        body.append(line)
    head = [name for _, names in groups for name in names]
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    out, col = [], 0
    titles = []
    for title, names in groups:
        span = sum(widths[col:col + len(names)]) + 2 * (len(names) - 1)
        titles.append(title.center(span))
        col += len(names)

    def fmt(cells):
        parts, col = [], 0
        for _, names in groups:
            parts.append("  ".join(c.rjust(w) if col + i else c.ljust(w)
                                   for i, (c, w) in enumerate(zip(cells[col:col + len(names)], widths[col:]))))
            col += len(names)
        return " | ".join(parts)

    out = [" | ".join(titles), fmt(head), " | ".join("-" * len(t) for t in titles)] + [fmt(r) for r in body]
    return "\n".join(out)


def _plot(rows, impls, path):
    """Log-log time per step against multiply-adds per step: full batch and mini-batch
    side by side, one colour per implementation, solid float64, dashed float32."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from .compare import Case

    def size(c):  # multiply-adds of the forward passes of one step: m × weights
        return Case(c.name, c.dims, c.activations, c.m).size

    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax, mini, title in ((axes[0], False, "full batch: one iteration"), (axes[1], True, "mini-batch: one epoch")):
        for i, impl in enumerate(impls):
            for dtype, style in (("float64", "-"), ("float32", "--")):
                points = sorted((size(c), r[impl]["seconds"]) for c, d, r in rows
                                if d == dtype and (c.batch is not None) == mini
                                and r.get(impl, {}).get("agrees") and "seconds" in r[impl])
                if points:
                    x, y = zip(*points)
                    ax.plot(x, y, style, marker="o", color=f"C{i}", label=f"{impl} {dtype}")
        ax.set(xscale="log", yscale="log", xlabel="multiply-adds per step (m × weights, forward)",
               ylabel="seconds per step", title=title)
        ax.grid(True, which="both", alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _rows(cases, impls, dtypes, outputs):
    rows = []
    for dtype in dtypes:
        for index, case in enumerate(cases):
            results = {}
            for impl in impls:
                output = outputs.get((impl, dtype))
                if output is not None:
                    results[impl] = output["results"][index] if "results" in output else {"error": output["error"]}
            rows.append((case, dtype, results))
    return rows


def _failures(rows):
    """One line per failed worker and per disagreeing (implementation, dtype, case)."""
    bad = {}
    for case, dtype, results in rows:
        for impl, r in results.items():
            if "error" in r:  # the whole worker failed: once, not once per case
                bad.setdefault((impl, dtype), f"{impl} {dtype}: {r['error']}")
            elif "agrees" in r and not r["agrees"]:
                bad[impl, dtype, case.name] = (f"{impl} {dtype} {case.name}: differs from the NumPy "
                                               f"reference by {r['difference']:.3g} (tolerance {TOLERANCE[dtype]:g})")
    return list(bad.values())


def run(quick=False, cases=None, impls=IMPLEMENTATIONS, dtypes=("float64", "float32"), out="nnfast-out",
        json_path=None, check_only=False, min_time=None, repeats=None, budget=None):
    """Check and time every case with every implementation; print the report, save the plot.

    Returns ``(rows, failures)``: rows ``[(case, dtype, {impl: result})]`` and a list of
    one-line descriptions of disagreeing or failed peers (empty when all is well).
    """
    mode = "quick" if quick else "full"

    def pick(key, given):
        return given if given is not None else _DEFAULTS[key][0 if quick else 1]

    settings = {"check_only": check_only, "min_time": pick("min_time", min_time), "repeats": pick("repeats", repeats),
                "budget": pick("budget", budget), "cheap": pick("cheap", None)}
    chosen = [replace(c, m=c.quick_m) if quick else c for c in (cases or CASES) if c.quick_m or not quick]
    print(f"nnfast peers ({mode}{', check only' if check_only else ''}): the same SGD training step "
          f"with {', '.join(impls)}; {', '.join(dtypes)}")
    for key, value in _machine(impls).items():
        print(f"  {key:8s} {value}")
    print("  load     %.2f %.2f %.2f before (1, 5, 15 min averages)" % os.getloadavg())
    started = time.perf_counter()
    outputs, notes = _run_all(chosen, impls, list(dtypes), settings)
    for (impl, dtype), output in outputs.items():
        if dtype == dtypes[0] and "versions" in output:
            print(f"  {impl:8s} worker: " + ", ".join(f"{k} {v}" for k, v in output["versions"].items()))
    for note in dict.fromkeys(notes.values()):
        print(f"  data     {', '.join(n for n, v in notes.items() if v == note)}: {note}")
    print("  load     %.2f %.2f %.2f after" % os.getloadavg())
    rows = _rows(chosen, impls, list(dtypes), outputs)
    for mini in (False, True):
        part = [r for r in rows if (r[0].batch is not None) == mini]
        if part:
            print()
            print(_table(part, impls, mini))
    # sklearn picks its own dtype (that of X, float64 unless X is float32): say what it used.
    sk = {f"{r['info']['dtype']} in the {d} rows" for _, d, res in rows
          for i, r in res.items() if i == "sklearn" and "info" in r}
    print(f"\nSpeed-up = time of the fastest of {'/'.join(_PEERS)} (or of sklearn) / time of nnfast. "
          "Full batch: (best t(2k) - best t(k))/k. Mini-batch: the best wall time of a call that "
          "trains one epoch, and best t(2 epochs) - best t(1 epoch) where a call took under "
          f"{settings['cheap']:g} s (— otherwise). Medians are in the JSON file. Max rel. diff: after a short run from the same weights, "
          "max|p - p_ref| / max|p_ref - p0| per array (tolerance "
          + ", ".join(f"{TOLERANCE[d]:g} in {d}" for d in dtypes) + "). "
          + (f"sklearn's weights were {', '.join(sorted(sk))}. " if sk else "")
          + f"{time.perf_counter() - started:.0f} s in all.")
    os.makedirs(out, exist_ok=True)
    if not check_only:
        # One file per dtype selection, so a float32 run does not overwrite a float64 one.
        saved = _plot(rows, impls, os.path.join(out, f"peers_{mode}_{'_'.join(dtypes)}.png"))
        print(f"plot: {saved}" if saved else "plot: not saved: matplotlib is not installed "
              "(pip install 'nnfast[plot]'); the tables above have every number")
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"mode": mode, "machine": _machine(impls), "settings": settings,
                       "rows": [{"case": asdict(c), "dtype": d, "results": r} for c, d, r in rows]}, f, indent=1)
        print(f"json: {json_path}")
    failures = _failures(rows)
    for line in failures:
        print(f"FAILED: {line}", file=sys.stderr)
    return rows, failures


# ----------------------------------------------------------------------------------------
# Command line.


def _choices(kind, allowed):
    """An argparse type: a comma-separated list, each item in ``allowed``."""
    def parse(text):
        items = [t.strip() for t in text.split(",") if t.strip()]
        unknown = [t for t in items if t not in allowed]
        if unknown or not items:
            raise argparse.ArgumentTypeError(f"unknown {kind} {', '.join(map(repr, unknown)) or repr(text)}; "
                                             f"choose from {', '.join(allowed)}")
        return tuple(dict.fromkeys(items))
    return parse


def _case_filter(text):
    """An argparse type: comma-separated substrings of case names, each matching one or more."""
    patterns = [t.strip() for t in text.split(",") if t.strip()]
    unmatched = [p for p in patterns if not any(p in c.name for c in CASES)]
    if unmatched or not patterns:
        raise argparse.ArgumentTypeError(f"no case matches {', '.join(map(repr, unmatched)) or repr(text)}; "
                                         f"cases: {', '.join(c.name for c in CASES)}")
    return tuple(c for c in CASES if any(p in c.name for p in patterns))


def _parser():
    from ._argtypes import positive_float, positive_int

    p = argparse.ArgumentParser(prog="python -m nnfast.peers", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a short subset on 10000 MNIST examples (minutes)")
    p.add_argument("--cases", type=_case_filter, default=None,
                   help="comma-separated substrings of case names (e.g. full,b128)")
    p.add_argument("--impl", type=_choices("implementation", IMPLEMENTATIONS), default=IMPLEMENTATIONS,
                   help=f"comma-separated, from {','.join(IMPLEMENTATIONS)} (default: all installed)")
    p.add_argument("--dtype", type=_choices("dtype", ("float64", "float32")), default=("float64", "float32"),
                   help="float64, float32 or both (default)")
    p.add_argument("--out", default="nnfast-out", help="folder for the plot (default ./nnfast-out)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write every number to this JSON file")
    p.add_argument("--check-only", action="store_true", help="only check that the peers agree; no timing")
    p.add_argument("--min-time", type=positive_float, default=None, help="full batch: seconds of one timed call")
    p.add_argument("--repeats", type=positive_int, default=None, help="timed repeats per case (default 2 quick, 3 full)")
    p.add_argument("--budget", type=positive_float, default=None,
                   help="seconds per case and worker after which repeats stop (default 5 quick, 20 full)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return p


def main(argv=None):
    """Entry point of ``python -m nnfast.peers``; returns the exit status (1 if a peer disagrees)."""
    if argv is None:
        argv = sys.argv[1:]
    if argv == ["--worker"]:  # internal, run by path without the nnfast package: spec on stdin
        json.dump(_worker(json.load(sys.stdin)), sys.stdout)
        return 0
    parser = _parser()
    args = parser.parse_args(argv)
    if args.quick and args.cases and not any(c.quick_m for c in args.cases):
        parser.error("--cases: none of the chosen cases is in the --quick subset")
    try:  # now, not after minutes of measurements
        os.makedirs(args.out, exist_ok=True)
        if args.json:
            open(args.json, "a").close()
    except OSError as exc:
        parser.error(f"cannot write {exc.filename}: {exc.strerror or exc}")
    _, failures = run(quick=args.quick, cases=args.cases, impls=args.impl, dtypes=args.dtype, out=args.out,
                      json_path=args.json, check_only=args.check_only, min_time=args.min_time,
                      repeats=args.repeats, budget=args.budget)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
