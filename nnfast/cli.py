"""The ``nnfast`` command: the experiments of the chapter's section 6.9, and a model's
predictions.

  nnfast planar     the 6.9.3 run: n_h = 4, 10000 iterations, learning rate 1.2
  nnfast sweep      hidden-layer sizes 1, 2, 3, 4, 5, 20, 50 (5000 iterations each), or
                    --grid FILE of train arguments; --local N / --scheduler ADDRESS: on Dask
  nnfast datasets   noisy_circles, noisy_moons, blobs, gaussian_quantiles (n_h = 4)
  nnfast mnist      the 784-25-10 tanh/softmax digit recogniser of 6.9.4
  nnfast compare    looped vs vectorized vs compiled timings (nnfast compare --help)
  nnfast predict    a saved model's predictions for new data
  nnfast compile    compile the kernels into Numba's cache now (once per machine and dtype)

Output files: figures (PNG, when matplotlib is installed: pip install "nnfast[plot]") go
to --out, default ./nnfast-out, for every command (compare's plot too); --save names the
model file.

Progress bar: mnist and sweep, the runs that can take more than a few seconds, draw a bar
with the elapsed time and the time left on standard error when tqdm is installed
(pip install "nnfast[progress]"), standard output and standard error are terminals, and
--quiet is not given; so do planar and datasets runs with --seed. The default planar and
datasets runs take a second or two and draw none.

The first run on a machine compiles the kernels of its dtype (once: later runs load them
from Numba's cache) and says so on standard error, with the time counting up on a
terminal; nnfast compile does it ahead of time.
"""

import argparse
import contextlib
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from . import __version__, _activations, _cache, _precompile, _startup, api, compiled, optimizers, plots, reference, schedules
from ._argtypes import non_negative_float, non_negative_int, open_unit_float, positive_float, positive_int
from .datasets import MNIST_ENV_VAR, load_extra_datasets, load_mnist, load_planar_dataset, one_hot
from .progress import compile_display, progress_bar
from . import grid, sweep

_MODULES = {"compiled": compiled, "reference": reference}

#: The chapter's extra data sets, in its order (``no_structure`` can be asked for).
EXTRA_DATASETS = ("noisy_circles", "noisy_moons", "blobs", "gaussian_quantiles")
DEFAULT_OUT = "nnfast-out"
#: Exit status for errors the user can fix (bad arguments, missing or unreadable files),
#: the same as argparse's.
EXIT_USAGE = 2


class CLIError(Exception):
    """An error reported as one ``nnfast <command>: error: ...`` message, exit status 2."""


# ----------------------------------------------------------------------------------------
# Shared helpers


def _make_folder(folder, option):
    """Create ``folder`` now and try writing into it, so that an unusable --out or --save
    path is a one-line error before training, not a traceback after it."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise CLIError(f"{option}: expected a folder (created if needed), got the existing "
                       f"file {folder}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()  # os.access says yes to root, even in /proc
    except OSError as exc:
        raise CLIError(f"{option}: cannot write into the folder {folder}: "
                       f"{exc.strerror or exc}") from None


class _Figures:
    """Saves figures into the output folder, or says once that they are skipped."""

    def __init__(self, out):
        self.out = Path(out)
        self.enabled = plots.available()
        self._told = False
        if self.enabled:  # without matplotlib no folder is needed (nor created)
            _make_folder(self.out, f"--out {out}")

    def _skip(self):
        if not self._told:
            print(plots.SKIPPED_MESSAGE)
            self._told = True

    def save(self, name, draw, *args, **kwargs):
        """``draw(self.out / name, *args, **kwargs)``; prints and returns the path (None when
        matplotlib is missing)."""
        if not self.enabled:
            self._skip()
            return None
        try:
            path = draw(self.out / name, *args, **kwargs)
        except plots.PlotsUnavailable:
            self.enabled = False
            self._skip()
            return None
        print(f"figure: {path}")
        return path


def _accuracy(predictions, labels):
    return float(np.mean(np.asarray(predictions).ravel() == np.asarray(labels).ravel()))


def _check_save(path):
    """Before training: --save names a file whose folder can be written (created if needed)."""
    if Path(path).is_dir():
        raise CLIError(f"--save {path}: expected a file name, got a folder")
    _make_folder(Path(path).parent, f"--save {path}")


def _save_model(path, result):
    """Save ``result`` to ``path``, checked by ``_check_save`` before training."""
    from .io import save

    try:
        save(path, result)
    except OSError as exc:
        raise CLIError(f"cannot write the model to {path}: {exc}") from None
    except ValueError as exc:  # NaN or inf costs or weights: io.save refuses them
        raise CLIError(f"{exc}; training diverged: try a smaller --learning-rate") from None
    print(f"model: {path}")


def _chapter_init(n_x, n_h, n_y, seed):
    """The chapter's ``initialize_parameters`` (W = randn * 0.01, W1 then W2, b = 0) drawn
    from ``RandomState(seed)``; with seed 2 it is exactly the chapter's."""
    rng = np.random.RandomState(seed)
    W1 = rng.randn(n_h, n_x) * 0.01
    W2 = rng.randn(n_y, n_h) * 0.01
    return {"W1": W1, "b1": np.zeros((n_h, 1)), "W2": W2, "b2": np.zeros((n_y, 1))}


def _fit_two_layer(backend, X, Y, n_h, args, *, print_cost, want_costs, hidden="tanh"):
    """The chapter's two-layer network (6.9.2) trained for ``args.iterations`` at
    ``args.learning_rate``.

    Without ``--seed`` this is ``nn_model`` of the chosen backend, the chapter's code
    path and initialisation, printing its ``Cost after iteration i`` lines; the per-iteration
    cost curve (``want_costs``) then comes from ``nnfast.train`` started from the same
    initial weights (``nn_model`` prints costs but does not return them). With ``--seed S``
    the initial weights are the chapter's ``randn * 0.01`` drawn from ``RandomState(S)`` and
    the run is ``nnfast.train`` (the same algorithm), printing the same lines.

    Returns
    -------
    parameters : dict
    costs : ndarray or None
        One cost per iteration (None when not wanted).
    elapsed : float
        Seconds of the training run (without the extra cost-curve run).
    """
    module = _MODULES[backend]
    n_x, n_y = X.shape[0], Y.shape[0]
    names = (hidden, "sigmoid")
    if args.seed is None:
        start = time.perf_counter()
        parameters = module.nn_model(X, Y, n_h, num_iterations=args.iterations,
                                     learning_rate=args.learning_rate, print_cost=print_cost,
                                     hidden_activation=hidden)
        elapsed = time.perf_counter() - start
        costs = None
        if want_costs:
            costs = api.train(X, Y, (n_x, n_h, n_y), names, learning_rate=args.learning_rate,
                              num_iterations=args.iterations, backend=backend,
                              parameters=module.initialize_parameters(n_x, n_h, n_y)).costs
        return parameters, costs, elapsed
    init = _chapter_init(n_x, n_h, n_y, args.seed)
    with progress_bar(args.iterations, unit="it", desc=f"n_h={n_h}", enabled=print_cost) as bar:
        start = time.perf_counter()
        result = api.train(X, Y, (n_x, n_h, n_y), names, learning_rate=args.learning_rate,
                           num_iterations=args.iterations, parameters=init, backend=backend,
                           callback=bar if bar.active else None)
        elapsed = time.perf_counter() - start
    if print_cost:
        for i in range(0, args.iterations, 1000):
            print("Cost after iteration %i: %f" % (i, result.costs[i]))
    return result.parameters, result.costs, elapsed


def _boundary_predictor(backend, parameters, activations):
    module = _MODULES[backend]
    return lambda points: module.predict(parameters, points, activations)


# ----------------------------------------------------------------------------------------
# nnfast planar


def _planar(args):
    """Section 6.9.3: the chapter's planar network, n_h=4, 10000 iterations, lr 1.2."""
    X, Y = load_planar_dataset()
    figures = _Figures(args.out)
    if args.save is not None:
        _check_save(args.save)
    backends = ["reference", "compiled"] if args.backend == "both" else [args.backend]
    activations = ("tanh", "sigmoid")
    per_iteration = {}
    parameters = costs = None
    for name in backends:
        module = _MODULES[name]
        start = time.perf_counter()
        module.nn_model(X, Y, n_h=args.hidden, num_iterations=1)  # compiles or loads the kernels
        warmup = time.perf_counter() - start
        print(f"== {name} backend (first call incl. compile/cache load: {warmup:.2f} s)")
        last = name == backends[-1]
        want_costs = last and (figures.enabled or args.save is not None)
        parameters, costs, elapsed = _fit_two_layer(name, X, Y, args.hidden, args,
                                                    print_cost=not args.quiet,
                                                    want_costs=want_costs)
        accuracy = _accuracy(module.predict(parameters, X, activations), Y)
        per_iteration[name] = elapsed / max(args.iterations, 1)
        print(f"Accuracy of nn: {accuracy}")
        print(f"time: {elapsed:.3f} s for {args.iterations} iterations = "
              f"{per_iteration[name] * 1e6:.1f} µs/iteration")
    if len(per_iteration) == 2:
        print(f"compiled is {per_iteration['reference'] / per_iteration['compiled']:.1f}x faster "
              "per iteration than the NumPy reference (same process, same data)")
    backend = backends[-1]
    if figures.enabled:
        figures.save("planar_cost.png", plots.save_costs, costs,
                     title=f"Planar data, n_h = {args.hidden}, learning rate {args.learning_rate}")
    figures.save("planar_boundary.png", plots.save_decision_boundary,
                 _boundary_predictor(backend, parameters, activations), X, Y,
                 title=f"Decision Boundary for hidden layer size {args.hidden}")
    if args.save is not None:
        _save_model(args.save, api.TrainResult(
            parameters, np.asarray(costs, dtype=np.float64), (2, args.hidden, 1), activations,
            backend, {"learning_rate": args.learning_rate, "num_iterations": args.iterations,
                      "seed": args.seed}))
    return 0


# ----------------------------------------------------------------------------------------
# nnfast sweep


#: The chapter's sweep (6.9.3), run when no --grid is given.
_CHAPTER_SWEEP = {"hidden": [1, 2, 3, 4, 5, 20, 50], "iterations": 5000, "learning_rate": 1.2,
                  "backend": "compiled", "seed": 2}
_CHAPTER_OPTIONS = (("--hidden", "hidden"), ("--iterations", "iterations"), ("--learning-rate", "learning_rate"),
                    ("--backend", "backend"), ("--seed", "seed"))


def _sweep_grid(args):
    """The sweep to run: the grid file of --grid, or the chapter's sweep as a grid (the
    planar data, the chapter's initialisation from seed 2 or --seed, one configuration per
    --hidden size)."""
    if args.grid is not None:
        given = [option for option, name in _CHAPTER_OPTIONS if getattr(args, name) is not None]
        if given:
            args.parser.error(f"{', '.join(given)}: options of the chapter's sweep; with --grid, set them in "
                              f"the file (hidden, num_iterations, learning_rate, backend, seed)")
        try:
            return grid.read(args.grid)
        except (FileNotFoundError, TypeError, ValueError) as exc:
            raise CLIError(str(exc)) from None
    chapter = {name: _CHAPTER_SWEEP[name] if getattr(args, name) is None else getattr(args, name)
               for _, name in _CHAPTER_OPTIONS}
    return grid.from_mapping({
        "data": {"name": "planar"},
        "train": {"learning_rate": chapter["learning_rate"], "num_iterations": chapter["iterations"],
                  "backend": chapter["backend"], "init": "chapter", "seed": chapter["seed"]},
        "grid": {"hidden": chapter["hidden"]}}, source="nnfast sweep")


def _sweep_client(args, stack):
    """The Dask client of --local or --scheduler (closed by ``stack``), or None."""
    if args.local is None and args.scheduler is None:
        return None
    option = f"--local {args.local}" if args.local is not None else f"--scheduler {args.scheduler}"
    try:
        from . import cluster
    except ImportError as exc:
        raise CLIError(f"{option} runs the sweep on Dask, which is not installed: {exc}") from None
    try:
        return stack.enter_context(cluster.connect(args.scheduler, args.local))
    except OSError as exc:
        raise CLIError(f"{option}: cannot reach the scheduler: {exc}") from None


def _sweep_workers(args, client, configs, data):
    """Ready the workers (the plugin compiles the kernels the grid needs) and say so."""
    from . import cluster

    start = time.perf_counter()
    try:
        report = cluster.prepare_workers(client, sweep.compiled_dtypes(configs, data))
    except TimeoutError as exc:
        raise CLIError(str(exc)) from None
    where = "a LocalCluster on 127.0.0.1" if args.local is not None else f"the cluster at {args.scheduler}"
    print(f"Dask: {where}; {cluster.describe(report)}; ready in {time.perf_counter() - start:.1f} s")


def _sweep_line(result, plan, chapter, count):
    """The line printed when a configuration finishes, and the progress bar's note: the
    chapter's ``Accuracy for n_h hidden units`` (printed even with --quiet, as always), or
    the configuration's label, cost and accuracies, preceded by ``count``."""
    o = result.outcome
    if chapter:
        n_h, = result.config["hidden"]
        return f"Accuracy for {n_h} hidden units: {o.train_accuracy}  ({o.seconds:.2f} s)", f"n_h={n_h} done"
    test = "" if o.test_accuracy is None else f", test {o.test_accuracy:.4f}"
    where = "" if result.where == "local" else f", {result.where}"
    return (f"{count} #{result.index} {plan.label(result.config)}: final cost {o.final_cost:.6f}, accuracy "
            f"{o.train_accuracy:.4f}{test} ({o.seconds:.2f} s{where})", f"#{result.index} done")


def _sweep_header(plan, chapter, data, configs, client):
    """What is swept, said before the first configuration runs."""
    if chapter:
        fixed = plan.fixed
        print(f"Planar data, {fixed['num_iterations']} iterations per size, learning rate "
              f"{fixed['learning_rate']}, {fixed['backend']} backend")
        return
    test = "" if data.X_test is None else f", {data.X_test.shape[1]} test"
    print(f"{plan.source}: {len(configs)} configuration(s) on {data.name} ({data.X.shape[1]} training{test} "
          f"examples), {'in this process' if client is None else 'on Dask'}")
    print("fixed: " + ", ".join(f"{k}={grid.format_value(v)}" for k, v in plan.fixed.items()))


def _sweep_report(args, plan, chapter, data, results, elapsed, figures):
    """The chapter's decision-boundary panels; or the table, printed and as sweep.csv,
    and the accuracy figure."""
    if chapter:
        panels = [(_boundary_predictor(r.config["backend"], r.outcome.parameters, r.outcome.activations),
                   data.X, data.Y, f"Hidden Layer of size {r.config['hidden'][0]}, accuracy={r.outcome.train_accuracy}")
                  for r in results]
        figures.save("sweep_boundaries.png", plots.save_decision_boundaries, panels,
                     suptitle=f"Planar data: hidden layer sizes ({plan.fixed['num_iterations']} iterations)")
        return
    print(sweep.format_table(plan, results))
    print(f"time: {elapsed:.2f} s for {len(results)} configuration(s) (their train calls: "
          f"{sum(r.outcome.seconds for r in results):.2f} s in all)")
    try:
        print(f"table: {sweep.write_csv(Path(args.out) / 'sweep.csv', plan, results)}")
    except OSError as exc:
        raise CLIError(f"cannot write the results table into {args.out}: {exc}") from None
    figures.save("sweep_accuracy.png", sweep.save_accuracies, plan, results)


def _sweep(args):
    """6.9.3's hidden-layer sizes (one decision-boundary panel each), or the grid of
    --grid FILE (a results table, a CSV file and an accuracy figure); in this process, on
    --local N worker processes or on the cluster of --scheduler."""
    plan = _sweep_grid(args)
    chapter = args.grid is None
    try:
        data = sweep.load_data(plan.data, plan.folder)
    except (FileNotFoundError, ValueError) as exc:
        raise CLIError(f"{plan.source}: [data]: {exc}") from None
    configs = plan.configurations()
    if not chapter:
        _make_folder(args.out, f"--out {args.out}")  # the CSV is written without matplotlib too
    figures = _Figures(args.out)
    results = []
    with contextlib.ExitStack() as stack:
        client = _sweep_client(args, stack)
        if client is not None:
            _sweep_workers(args, client, configs, data)
        else:  # load (or compile) the kernels before the clock starts, as the workers do
            for dtype in sweep.compiled_dtypes(configs, data):
                _precompile.precompile(dtype)
        _sweep_header(plan, chapter, data, configs, client)
        weights = sweep.work(configs, data)
        start = time.perf_counter()
        with progress_bar(sum(weights), desc="sweep", enabled=not args.quiet, percent=True) as bar:
            try:
                for result in sweep.run(configs, data, client):
                    results.append(result)
                    line, note = _sweep_line(result, plan, chapter, f"[{len(results)}/{len(configs)}]")
                    if chapter or not args.quiet:
                        bar.write(line)
                    bar.advance(weights[result.index], note=note)
            except (TypeError, ValueError) as exc:  # a rule that needs the data (run_one names the configuration)
                raise CLIError(f"{plan.source}: {exc}") from None
        elapsed = time.perf_counter() - start
    _sweep_report(args, plan, chapter, data, sorted(results, key=lambda r: r.index), elapsed, figures)
    return 0


# ----------------------------------------------------------------------------------------
# nnfast datasets


def _datasets(args):
    """6.9.3: the n_h = 4 network on the extra data sets, one panel each."""
    data = load_extra_datasets(args.data_seed)
    figures = _Figures(args.out)
    activations = ("tanh", "sigmoid")
    panels, results = [], []
    for name in args.datasets:
        X, Y = data[name]
        print(f"== {name} (n_h = {args.hidden}, {args.iterations} iterations, learning rate "
              f"{args.learning_rate})")
        parameters, _, elapsed = _fit_two_layer(args.backend, X, Y, args.hidden, args,
                                                print_cost=not args.quiet, want_costs=False)
        accuracy = _accuracy(_MODULES[args.backend].predict(parameters, X, activations), Y)
        print(f"Accuracy of nn: {accuracy}  ({elapsed:.2f} s)")
        results.append((name, accuracy))
        panels.append((_boundary_predictor(args.backend, parameters, activations), X, Y,
                       f"{name}, hidden layer size {args.hidden}, accuracy={accuracy}"))
    if len(results) > 1:
        print("Accuracy per data set:")
        for name, accuracy in results:
            print(f"  {name:<20} {accuracy}")
    figures.save("datasets_boundaries.png", plots.save_decision_boundaries, panels,
                 suptitle=f"Extra data sets, hidden layer size {args.hidden}")
    return 0


# ----------------------------------------------------------------------------------------
# nnfast mnist

#: load_mnist's messages speak Python (its ``path`` argument); on the command line the same
#: folder is --data DIR or the environment variable NNFAST_MNIST_DIR.
_PYTHON_TO_CLI = (
    (r"\(from the path argument\)", "(from --data)"),
    (rf"load_mnist\(path=None\) and the environment variable {MNIST_ENV_VAR} is not set",
     f"no --data DIR given and {MNIST_ENV_VAR} is not set"),
    (rf"pass load_mnist\(path=<folder>\) or set the environment variable "
     rf"{MNIST_ENV_VAR}=<folder>", f"give it with --data DIR or set {MNIST_ENV_VAR}=DIR"),
)


def _command_line_words(message):
    """``message`` from load_mnist with its Python advice said in the command's words."""
    for pattern, words in _PYTHON_TO_CLI:
        message = re.sub(pattern, words, message)
    return message



def _mnist(args):
    """6.9.4: the 784-25-10 tanh/softmax network trained with nnfast.train."""
    full_batch = args.batch_size == 0
    if full_batch and args.epochs is not None:
        args.parser.error("--epochs is for mini-batches; with --batch-size 0 (full batch) give "
                          "--iterations")
    if not full_batch and args.iterations is not None:
        args.parser.error(f"--iterations is for full-batch training (--batch-size 0); with "
                          f"mini-batches of {args.batch_size} give --epochs (and --train-size "
                          f"for a quick run on fewer images)")
    epochs = 10 if args.epochs is None else args.epochs
    iterations = 1000 if args.iterations is None else args.iterations
    seed = 0 if args.seed is None else args.seed
    try:
        start = time.perf_counter()
        X, y, X_test, y_test = load_mnist(args.data, dtype=args.dtype)
        loaded = time.perf_counter() - start
    except FileNotFoundError as exc:
        raise CLIError(_command_line_words(str(exc))) from None
    except ValueError as exc:
        raise CLIError(_command_line_words(str(exc))) from None
    if args.train_size is not None:
        X, y = np.ascontiguousarray(X[:, :args.train_size]), y[:args.train_size]
    figures = _Figures(args.out)
    if args.save is not None:
        _check_save(args.save)
    m = X.shape[1]
    Y = one_hot(y, 10)
    dims = (X.shape[0], *args.hidden, 10)
    activations = (args.activation,) * len(args.hidden) + ("softmax",)
    schedule = ("full batch, %d iterations" % iterations if full_batch else
                "mini-batches of %d, %d epochs" % (args.batch_size, epochs))
    print(f"MNIST: {m} training / {X_test.shape[1]} test images ({loaded:.2f} s to load); network "
          f"{'-'.join(map(str, dims))} ({args.activation}, softmax); {schedule}; learning rate "
          f"{args.learning_rate} ({args.schedule}); {args.optimizer}"
          f"{f', l2 {args.l2:g}' if args.l2 else ''}"
          f"{f', dropout {args.dropout:g}' if args.dropout else ''}; {args.dtype}; seed {seed}")

    kw = dict(learning_rate=args.learning_rate, seed=seed, backend=args.backend, dtype=args.dtype,
              optimizer=args.optimizer, l2=args.l2, schedule=args.schedule,
              validation_fraction=args.validation_fraction, patience=args.patience,
              keep_prob=None if args.dropout is None else 1.0 - args.dropout)
    if full_batch:
        kw["num_iterations"] = iterations
        warm = dict(num_iterations=1)
        total, unit = iterations, "it"
    else:
        kw.update(batch_size=args.batch_size, epochs=epochs)
        warm = dict(batch_size=args.batch_size, epochs=1)
        total, unit = epochs, "epoch"
    start = time.perf_counter()
    n_warm = min(m, 2 * (args.batch_size or 64))
    with warnings.catch_warnings():  # a divergence warning is the real run's to give, once
        warnings.simplefilter("ignore", RuntimeWarning)
        api.train(X[:, :n_warm], Y[:, :n_warm], dims, activations, learning_rate=args.learning_rate,
                  seed=seed, backend=args.backend, dtype=args.dtype, **warm)
    print(f"== {args.backend} backend (first call incl. compile/cache load: "
          f"{time.perf_counter() - start:.2f} s)")
    with progress_bar(total, unit=unit, desc="mnist", enabled=not args.quiet) as bar:
        start = time.perf_counter()
        result = api.train(X, Y, dims, activations, callback=bar if bar.active else None, **kw)
        elapsed = time.perf_counter() - start
    if not args.quiet:
        if full_batch:
            step = max(1, iterations // 10)
            for i in list(range(0, iterations, step)) + ([iterations - 1] if
                                                         (iterations - 1) % step else []):
                print("Cost after iteration %i: %f" % (i, result.costs[i]))
        else:
            validated = "val_cost" in result.history
            for e, cost in enumerate(result.costs, start=1):
                print("Cost after epoch %i: %f" % (e, cost) + (
                    ", validation cost %f, accuracy %.4f" % (result.history["val_cost"][e - 1],
                                                             result.history["val_accuracy"][e - 1])
                    if validated else ""))
    if args.patience is not None and len(result.costs) < total:
        print(f"early stop after {len(result.costs)} of {total} {unit}s (patience {args.patience}); "
              f"the best {unit}'s parameters kept")
    if not all(np.isfinite(W).all() for W in result.parameters.values()):
        raise CLIError(f"training diverged: the weights are NaN or infinite; try a smaller "
                       f"--learning-rate (got {args.learning_rate:g})")
    train_accuracy = _accuracy(result.predict(X), y)
    predictions = result.predict(X_test)
    test_accuracy = _accuracy(predictions, y_test)
    per = (f"{elapsed / epochs:.2f} s/epoch" if not full_batch else
           f"{elapsed / iterations * 1e3:.2f} ms/iteration")
    print(f"Training accuracy: {train_accuracy:.4f}")
    print(f"Test accuracy: {test_accuracy:.4f} ({round(test_accuracy * y_test.size)}/"
          f"{y_test.size})")
    print(f"time: {elapsed:.2f} s ({per})")
    curves, labels = [result.costs], ["training"]
    if "val_cost" in result.history and not full_batch:
        curves.append(result.history["val_cost"])
        labels.append("validation")
    figures.save("mnist_cost.png", plots.save_costs, curves, labels=labels,
                 xlabel="iteration" if full_batch else "epoch",
                 title=f"MNIST {'-'.join(map(str, dims))}, {schedule}")
    if figures.enabled:
        C = plots.confusion_matrix(y_test, predictions, 10)
        figures.save("mnist_confusion.png", plots.save_confusion_matrix, C,
                     title=f"MNIST test set: accuracy {test_accuracy:.4f}")
    if args.save is not None:
        _save_model(args.save, result)
    return 0


# ----------------------------------------------------------------------------------------
# nnfast compare


def _compare(argv):
    """Forward ``argv`` to ``nnfast.compare.main``, imported only now."""
    try:
        from . import compare
    except ModuleNotFoundError as exc:
        if exc.name not in ("nnfast.compare", __package__ + ".compare"):
            raise
        print("nnfast compare: error: this installation of nnfast has no nnfast.compare module "
              "(nnfast/compare.py is missing), so there is nothing to compare with",
              file=sys.stderr)
        return EXIT_USAGE
    status = compare.main(list(argv))
    return 0 if status is None else status


# ----------------------------------------------------------------------------------------
# nnfast predict


def _read_data(path, n_x):
    """X of shape (n_x, m) from a .npy (already (n_x, m)) or a .csv/.txt (one example per row,
    transposed here)."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            X = np.load(path, allow_pickle=False)
            layout = "an .npy array of shape (n_x, m): one example per column"
            if X.ndim == 1 and X.shape[0] == n_x:
                X = X.reshape(n_x, 1)
        elif suffix in (".csv", ".txt"):
            layout = f"a {suffix} file with one example per row ({n_x} numbers each)"
            with warnings.catch_warnings():  # an empty file: said below, in one line
                warnings.filterwarnings("ignore", "loadtxt: input contained no data")
                rows = np.loadtxt(path, delimiter="," if suffix == ".csv" else None, ndmin=2,
                                  dtype=np.float64)
            if rows.size == 0:
                raise CLIError(f"{path}: expected {layout}; the file has no data")
            X = rows.T
        else:
            raise CLIError(f"{path}: unknown data format {suffix!r}: give an .npy array of shape "
                           f"(n_x, m) (one example per column) or a .csv file with one example "
                           f"per row")
    except FileNotFoundError:
        raise CLIError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise CLIError(f"{path}: cannot read it as {suffix} data: {exc}") from None
    if X.ndim != 2:
        raise CLIError(f"{path}: expected {layout}; got an array of shape {X.shape}")
    if X.shape[0] != n_x:
        hint = ""
        if suffix == ".npy" and X.shape[1] == n_x:
            hint = " (one example per row? transpose it: the .npy layout is (n_x, m))"
        elif suffix != ".npy" and n_x + 1 == X.shape[0]:
            hint = " (a label column? remove it)"
        raise CLIError(f"{path}: the model takes n_x = {n_x} features per example; expected "
                       f"{layout}, got {X.shape[0]} features{hint}")
    if suffix != ".npy" and not np.isfinite(X).all():
        # Said in the file's rows and columns: predict would give the index into X = rows.T.
        bad = np.argwhere(~np.isfinite(rows))
        i, j = bad[0]
        raise CLIError(f"{path}: expected finite numbers; got {rows[i, j]} at row {i + 1}, column "
                       f"{j + 1} (counting from 1, blank and # lines skipped; {len(bad)} NaN "
                       f"or infinite value(s) in all)")
    return X


def _predict(args):
    from .io import load

    try:
        model = load(args.model)
    except FileNotFoundError:
        raise CLIError(f"{args.model}: no such file") from None
    except (OSError, TypeError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    n_x = model.layer_dims[0]
    X = _read_data(args.data, n_x)
    m = X.shape[1]
    try:
        if args.proba:
            out = api.predict_proba(model.parameters, X, model.activations, backend=args.backend)
        else:
            out = api.predict(model.parameters, X, model.activations, backend=args.backend)
    except (TypeError, ValueError) as exc:
        raise CLIError(f"{args.data}: {exc}") from None
    # One row per example for text output: (m,) class indices, or (m, n_y).
    rows = out if out.ndim == 1 else out.T
    kind = ("probabilities" if args.proba else "predictions")
    if args.output is None:
        _write_rows(sys.stdout, rows)
        return 0
    path = Path(args.output)
    try:
        if path.suffix.lower() == ".npy":
            np.save(path, out)
            what = f"array of shape {out.shape} (one example per column)" if out.ndim == 2 else \
                f"array of shape {out.shape}"
        else:
            with open(path, "w") as f:
                _write_rows(f, rows)
            what = "one example per line"
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc}") from None
    print(f"{kind} for {m} examples written to {path} ({what})")
    return 0


def _write_rows(f, rows):
    if rows.dtype.kind in "iub":
        fmt = "%d"
    else:
        fmt = "%.9g"
    if rows.ndim == 1:
        for v in rows:
            f.write(fmt % v + "\n")
    else:
        for r in rows:
            f.write(",".join(fmt % v for v in r) + "\n")


# ----------------------------------------------------------------------------------------
# nnfast compile


class _Silent:
    """A compile display that shows nothing (``nnfast compile`` reports on its own)."""

    def start(self, text):
        pass

    def end(self, text):
        pass


def _compile(args):
    """Compile every kernel of each --dtype into Numba's cache (or find it there)."""
    folders = ", ".join(map(str, _cache.cache_folders()))
    display = compile_display(file=sys.stdout)
    for dtype in args.dtype:
        display.start(f"{dtype}: compiling every kernel into {folders} (or loading them from it)")
        with _startup.shown_by(_Silent()):
            seconds, compiled_now = _precompile.precompile(dtype)
        display.end(f"{dtype}: {'compiled' if compiled_now else 'already in the cache, loaded'} "
                    f"in {seconds:.1f} s")
    return 0


def _dtype_list(text):
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in _precompile.DTYPES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown dtype(s) {', '.join(unknown) or text!r}; "
                                         f"choose from {','.join(_precompile.DTYPES)}")
    return list(dict.fromkeys(names))


# ----------------------------------------------------------------------------------------
# The parser


def _seed(text):
    value = non_negative_int(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"expected a seed in [0, 2**32), got {value}")
    return value


def _int_list(text):
    sizes = [positive_int(part.strip()) for part in text.split(",") if part.strip()]
    if not sizes:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of sizes, got {text!r}")
    return sizes


def _dataset_list(text):
    names = [part.strip() for part in text.split(",") if part.strip()]
    known = EXTRA_DATASETS + ("no_structure",)
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown data set(s) {', '.join(unknown) or text!r}; "
                                         f"choose from {', '.join(known)}")
    return names


def _common(*, backends=("compiled", "reference"), iterations=None, iterations_help=None,
            seed_help):
    """The options every training subcommand takes."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--backend", choices=backends, default="compiled",
                   help="the compiled (Numba) or the NumPy reference implementation "
                        "(default: compiled)")
    p.add_argument("--seed", type=_seed, default=None, help=seed_help)
    p.add_argument("--iterations", type=positive_int, default=iterations,
                   help=iterations_help or f"gradient-descent iterations (default {iterations})")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                   help=f"folder for the PNG figures, created if needed (default ./{DEFAULT_OUT})")
    p.add_argument("--quiet", action="store_true",
                   help="no cost lines and no progress bar; results only (a bar is drawn on a "
                        "terminal when tqdm is installed: see nnfast --help)")
    return p


_CHAPTER_SEED_HELP = ("draw the chapter's initial weights (randn * 0.01) from RandomState(SEED) "
                      "and train with nnfast.train; default: the chapter's own nn_model, seed 2")


def build_parser():
    parser = argparse.ArgumentParser(prog="nnfast", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"nnfast {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "planar", help="the chapter's 6.9.3 run on the planar 'flower' data",
        parents=[_common(backends=("compiled", "reference", "both"), iterations=10000,
                         seed_help=_CHAPTER_SEED_HELP)],
        description="Section 6.9.3: the two-layer network (n_h tanh units, one sigmoid unit) "
                    "on the 400-point flower. Prints the cost every 1000 iterations, the "
                    "accuracy and the time; saves planar_cost.png and planar_boundary.png. "
                    "--backend both runs the reference, then the compiled backend, and prints "
                    "the speed-up.")
    p.add_argument("--hidden", type=positive_int, default=4, help="hidden layer size n_h (default 4)")
    p.add_argument("--learning-rate", type=positive_float, default=1.2, help="default 1.2")
    p.add_argument("--save", metavar="MODEL.npz", help="save the trained network (nnfast.io.save)")
    p.set_defaults(run=_planar)

    p = sub.add_parser(
        "sweep", help="the hidden-layer-size experiment of 6.9.3, or a grid of train arguments",
        parents=[_common(iterations_help="gradient-descent iterations per size (default 5000)",
                         seed_help=_CHAPTER_SEED_HELP)],
        description="Section 6.9.3: the planar data with hidden layers of several sizes. Prints "
                    "the accuracy per size; saves sweep_boundaries.png, one decision-boundary "
                    "panel per size. With --grid FILE: every combination of the train arguments "
                    "of a TOML or JSON file (see the README, 'Sweeps on a Dask cluster'); prints "
                    "and saves the results table (sweep.csv) and sweep_accuracy.png. --local N "
                    "and --scheduler ADDRESS run the configurations on Dask (pip install "
                    "\"nnfast[dask]\"). On a terminal, with tqdm installed, a progress bar shows "
                    "the time left (n_h = 50 takes most of it).")
    p.add_argument("--hidden", type=_int_list, default=None, metavar="N,N,...",
                   help="hidden layer sizes (default 1,2,3,4,5,20,50)")
    p.add_argument("--learning-rate", type=positive_float, default=None, help="default 1.2")
    p.add_argument("--grid", metavar="FILE", help="sweep the grid of train arguments in FILE (.toml or .json) "
                                                  "instead of the chapter's sizes")
    on = p.add_mutually_exclusive_group()
    on.add_argument("--local", type=positive_int, metavar="N",
                    help="run on a new Dask LocalCluster of N worker processes, one thread each")
    on.add_argument("--scheduler", metavar="ADDRESS",
                    help="run on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786)")
    # None: not given, so that --grid can refuse the chapter's options (their defaults are
    # _CHAPTER_SWEEP's).
    p.set_defaults(run=_sweep, parser=p, backend=None)

    p = sub.add_parser(
        "datasets", help="the extra data sets of 6.9.3 (circles, moons, blobs, quantiles)",
        parents=[_common(iterations=10000, seed_help=_CHAPTER_SEED_HELP)],
        description="Section 6.9.3: the n_h = 4 network on the extra data sets. Prints the "
                    "costs and the accuracy per data set; saves datasets_boundaries.png, one "
                    "panel each.")
    p.add_argument("--datasets", type=_dataset_list, default=list(EXTRA_DATASETS),
                   metavar="NAME,...", help=f"default {','.join(EXTRA_DATASETS)} "
                                            f"(no_structure also available)")
    p.add_argument("--data-seed", type=_seed, default=None,
                   help="seed of the data (load_extra_datasets(seed)); default: the chapter's data")
    p.add_argument("--hidden", type=positive_int, default=4, help="hidden layer size n_h (default 4)")
    p.add_argument("--learning-rate", type=positive_float, default=1.2, help="default 1.2")
    p.set_defaults(run=_datasets)

    p = sub.add_parser(
        "mnist", help="the 784-25-10 digit recogniser of 6.9.4",
        parents=[_common(iterations_help="full-batch iterations, with --batch-size 0 only "
                                         "(default 1000)",
                         seed_help="seed of the initial weights and the shuffles (default 0)")],
        description="Section 6.9.4: a tanh hidden layer and a softmax output trained on the "
                    "60000 MNIST training images with nnfast.train, tested on the 10000 test "
                    "images (--hidden, --activation, --optimizer, --dropout, ... go beyond the "
                    "chapter). Prints the cost per epoch, the accuracy and the time; saves "
                    "mnist_cost.png and mnist_confusion.png. On a terminal, with tqdm "
                    "installed, a progress bar shows the epochs (or iterations) done, the "
                    "cost and the time left.",
        epilog=f"The MNIST folder is --data, else ${MNIST_ENV_VAR}; it must hold the four IDX "
               "files (train-images-idx3-ubyte.gz, ...) or mnist_train.csv and mnist_test.csv.")
    p.add_argument("--data", metavar="DIR", help=f"the MNIST folder (default: ${MNIST_ENV_VAR})")
    p.add_argument("--hidden", type=_int_list, default=[25], metavar="N[,N,...]",
                   help="hidden layer sizes, one per hidden layer (default 25)")
    p.add_argument("--activation", choices=list(_activations.HIDDEN), default="tanh",
                   help="hidden layers' activation (default tanh)")
    p.add_argument("--batch-size", type=non_negative_int, default=64,
                   help="mini-batch size; 0 = full batch with --iterations (default 64)")
    p.add_argument("--epochs", type=positive_int, default=None, help="default 10")
    p.add_argument("--learning-rate", type=positive_float, default=0.1, help="default 0.1")
    p.add_argument("--optimizer", choices=list(optimizers.OPTIMIZERS), default="sgd",
                   help="update rule, torch.optim's defaults (default sgd; see nnfast.optimizers)")
    p.add_argument("--l2", type=non_negative_float, default=0.0,
                   help="L2 penalty lambda: (lambda/2m) sum ||W||^2 (default 0)")
    p.add_argument("--schedule", choices=list(schedules.SCHEDULES), default="constant",
                   help="learning rate per epoch (default constant; see nnfast.schedules)")
    p.add_argument("--dropout", type=open_unit_float, default=None, metavar="RATE",
                   help="inverted dropout on the hidden layers during training: drop each unit "
                        "with probability RATE (train's keep_prob = 1 - RATE; default none)")
    p.add_argument("--validation-fraction", type=open_unit_float, default=None, metavar="F",
                   help="hold out this fraction of the training images as a validation set; its "
                        "cost and accuracy are printed and plotted per epoch")
    p.add_argument("--patience", type=positive_int, default=None,
                   help="early stopping: stop after this many epochs without a better validation "
                        "cost (training cost without --validation-fraction), keep the best epoch")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="working precision (default float32)")
    p.add_argument("--train-size", type=positive_int, default=None, metavar="N",
                   help="train on the first N training images only (quick runs)")
    p.add_argument("--save", metavar="MODEL.npz", help="save the trained network (nnfast.io.save)")
    p.set_defaults(run=_mnist, parser=p)

    sub.add_parser("compare", help="compare the backends (forwards its arguments to "
                                   "nnfast.compare; see nnfast compare --help)", add_help=False)

    p = sub.add_parser(
        "predict", help="predictions of a saved model for new data",
        description="Load a model saved with --save (or nnfast.io.save) and print its "
                    "predictions, one example per line: 0/1 for a sigmoid output, the class "
                    "index for softmax, the value for identity (with --proba: the output "
                    "layer, comma-separated).")
    p.add_argument("model", metavar="MODEL.npz")
    p.add_argument("data", metavar="DATA",
                   help="an .npy array of shape (n_x, m), one example per COLUMN (the chapter's "
                        "layout), or a .csv file with one example per ROW (transposed on "
                        "reading). MNIST models expect pixels scaled as load_mnist does "
                        "(pixel * 0.99/255 + 0.01)")
    p.add_argument("--output", metavar="FILE",
                   help="write the predictions to FILE instead of standard output: .npy (the "
                        "array nnfast.predict returns), anything else text, one example per line")
    p.add_argument("--proba", action="store_true", help="the output layer's values instead of labels")
    p.add_argument("--backend", choices=("compiled", "reference"), default="compiled")
    p.set_defaults(run=_predict)

    p = sub.add_parser(
        "compile", help="compile the kernels into Numba's cache now (Docker images, CI, clusters)",
        description="Compile every kernel nnfast runs, for each dtype, into Numba's cache for "
                    "this machine, so that later processes start at once; prints the time "
                    "per dtype and the cache folder. Run it as the user who will run nnfast "
                    "(Numba caches only into folders it can write: see the README).")
    p.add_argument("--dtype", type=_dtype_list, default=list(_precompile.DTYPES), metavar="DTYPE,...",
                   help=f"default {','.join(_precompile.DTYPES)}")
    p.set_defaults(run=_compile)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["compare"]:
        return _compare(argv[1:])
    args = build_parser().parse_args(argv)
    # A compile of the kernels is shown with the progress display where one is drawn.
    try:
        with _startup.shown_by(compile_display(enabled=not getattr(args, "quiet", False))):
            return args.run(args)
    except CLIError as exc:
        print(f"nnfast {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"nnfast {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
