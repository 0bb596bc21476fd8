"""nnfast.sklearn against scikit-learn's own estimator: drop-in accuracy and speed, a
grid search, and the same grid search on a Dask cluster (issue 12's targets).

Three parts, each measurement in a process of its own (scikit-learn's OpenBLAS threads
and nnfast's never share one), one after another on an otherwise idle machine:

1. ``dropin``: ``fit`` of ``sklearn.neural_network.MLPClassifier`` and of
   ``nnfast.sklearn.MLPClassifier`` with the same hyperparameters (Adam, batch 200, a
   fixed number of epochs: ``tol=0`` and ``n_iter_no_change=max_iter`` so that neither
   stops early by its own rule), on the digits (1797 × 64, a fixed 75/25 split) and on
   real MNIST (60000 / 10000), for a few networks; test accuracy of each, the difference
   in percentage points, fit time and the ratio (medians of ``--repeats``).
2. ``search``: a 12-configuration ``GridSearchCV`` (hidden sizes × alpha × learning
   rate) with ``cv=3``, ``n_jobs=2`` on ``--search-size`` MNIST training images, for each
   estimator; wall time and ratio, and the best configuration of each.
3. ``dask``: nnfast's search again inside ``joblib.parallel_config(backend="dask")`` on a
   ``LocalCluster`` of two single-thread worker processes; its wall time, and whether its
   ``cv_results_`` scores equal the local search's exactly.

Usage::

    python scripts/sklearn_dropin.py [--parts dropin,search,dask] [--repeats 3]
                                     [--mnist DIR] [--quick] [--json OUT.json]

MNIST is read from ``--mnist`` or ``$NNFAST_MNIST_DIR``; without it the MNIST cases are
skipped with the reason printed (digits needs nothing). ``--quick`` is a smoke run
(small data, few epochs) whose numbers mean nothing. The machine (CPU model, cores) is
printed first. Compile time is excluded: every nnfast worker fits a tiny network first.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

GRID = {"hidden_layer_sizes": [(64,), (128,), (256, 128)], "alpha": [1e-4, 1e-3], "learning_rate_init": [1e-3, 3e-3]}


def _machine():
    from nnfast.compare import machine_info
    return machine_info()


def _data(name, mnist, size=None, quick=False):
    """``(X_train, y_train, X_test, y_test)``, rows = examples, float32 C-contiguous."""
    if name == "digits":
        from sklearn.datasets import load_digits
        X, y = load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        idx = np.random.default_rng(0).permutation(len(y))
        cut = int(0.75 * len(y))
        return X[idx[:cut]], y[idx[:cut]], X[idx[cut:]], y[idx[cut:]]
    from nnfast.datasets import load_mnist
    X, y, Xt, yt = load_mnist(mnist, dtype=np.float32)
    n = size or (6000 if quick else X.shape[1])
    return (np.ascontiguousarray(X[:, :n].T), y[:n], np.ascontiguousarray(Xt[:, :2000 if quick else None].T),
            yt[:2000 if quick else None])


def _estimator(kind, **params):
    if kind == "nnfast":
        from nnfast.sklearn import MLPClassifier
    else:
        from sklearn.neural_network import MLPClassifier
    return MLPClassifier(**params)


def _warm_up(kind):
    """Compile (or load) nnfast's kernels outside the timed region."""
    if kind == "nnfast":
        rng = np.random.default_rng(0)
        X = rng.random((64, 20), dtype=np.float32)
        _estimator(kind, hidden_layer_sizes=(8,), max_iter=1).fit(X, rng.integers(0, 3, 64))


def _worker_fit(args):
    """One fit in this process: JSON ``{seconds, accuracy}``."""
    import warnings
    Xtr, ytr, Xte, yte = _data(args.dataset, args.mnist, quick=args.quick)
    _warm_up(args.kind)
    params = json.loads(args.params)
    params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    est = _estimator(args.kind, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fixed epoch count ends "unconverged" on purpose
        start = time.perf_counter()
        est.fit(Xtr, ytr)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "accuracy": float(est.score(Xte, yte)), "n_iter": int(est.n_iter_)}


def _search(kind, X, y, quick, backend=None):
    """The grid search; returns (seconds, {params: mean score}, best params)."""
    import warnings
    import joblib
    from sklearn.model_selection import GridSearchCV
    epochs = 2 if quick else 10
    est = _estimator(kind, max_iter=epochs, tol=0.0, n_iter_no_change=epochs, random_state=0)
    search = GridSearchCV(est, GRID, cv=3, n_jobs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        if backend is None:
            search.fit(X, y)
        else:
            with joblib.parallel_config(backend=backend):
                search.fit(X, y)
        seconds = time.perf_counter() - start
    scores = {json.dumps(p, sort_keys=True): float(s) for p, s in
              zip(search.cv_results_["params"], search.cv_results_["mean_test_score"])}
    return seconds, scores, search.best_params_


def _worker_search(args):
    X, y, _, _ = _data("mnist", args.mnist, size=args.search_size, quick=args.quick)
    if args.kind == "nnfast":
        # Each joblib worker compiles or loads the kernels itself: load them into the cache
        # first, as `nnfast compile` would, so the timing is of the fits.
        subprocess.run([sys.executable, "-c", "import numpy as np; from nnfast import _precompile; "
                        "_precompile.precompile('float32')"], check=True, capture_output=True)
    if args.dask:
        from dask.distributed import Client, LocalCluster
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster, Client(cluster):
            seconds, scores, best = _search(args.kind, X, y, args.quick, backend="dask")
    else:
        seconds, scores, best = _search(args.kind, X, y, args.quick)
    return {"seconds": seconds, "scores": scores, "best": {k: list(v) if isinstance(v, tuple) else v
                                                           for k, v in best.items()}}


def _run(worker, **kw):
    """Run this script as a worker in a fresh process; its JSON result."""
    cmd = [sys.executable, __file__, "--worker", worker]
    for key, value in kw.items():
        if value is True:
            cmd.append(f"--{key.replace('_', '-')}")
        elif value not in (None, False):
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"worker {' '.join(cmd[2:])} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _dropin(args, report):
    cases = [("digits", (64,)), ("digits", (256, 128))]
    if args.mnist_ok:
        cases += [("mnist", (128,)), ("mnist", (256, 128))]
    epochs = 3 if args.quick else 20
    print(f"\n== drop-in: Adam, batch 200, {epochs} epochs, same hyperparameters; test accuracy and fit time "
          f"(median of {args.repeats})")
    print(f"{'data':7} {'network':10} {'sklearn acc':>11} {'nnfast acc':>10} {'diff pp':>8} "
          f"{'sklearn s':>10} {'nnfast s':>9} {'speed-up':>8}")
    for dataset, hidden in cases:
        params = dict(hidden_layer_sizes=list(hidden), max_iter=epochs, tol=0.0, n_iter_no_change=epochs,
                      random_state=0)
        runs = {kind: [] for kind in ("sklearn", "nnfast")}
        for r in range(args.repeats):
            for kind in runs:  # interleaved, so a slow spell of the machine hits both
                runs[kind].append(_run("fit", kind=kind, dataset=dataset, mnist=args.mnist, quick=args.quick,
                                       params=json.dumps({**params, "random_state": r})))
        med = {kind: {key: float(np.median([x[key] for x in rs])) for key in ("seconds", "accuracy")}
               for kind, rs in runs.items()}
        diff = 100 * (med["nnfast"]["accuracy"] - med["sklearn"]["accuracy"])
        ratio = med["sklearn"]["seconds"] / med["nnfast"]["seconds"]
        print(f"{dataset:7} {'-'.join(map(str, hidden)):10} {med['sklearn']['accuracy']:11.4f} "
              f"{med['nnfast']['accuracy']:10.4f} {diff:+8.2f} {med['sklearn']['seconds']:10.2f} "
              f"{med['nnfast']['seconds']:9.2f} {ratio:7.2f}x")
        report["dropin"].append({"data": dataset, "hidden": list(hidden), "runs": runs, "median": med,
                                 "accuracy_diff_pp": diff, "speedup": ratio})


def _searches(args, report, with_dask):
    n = args.search_size or (3000 if args.quick else 20000)
    print(f"\n== GridSearchCV: {len(GRID['hidden_layer_sizes']) * 4} configurations x cv=3, n_jobs=2, "
          f"{n} MNIST training images, {2 if args.quick else 10} epochs each")
    result = {kind: _run("search", kind=kind, mnist=args.mnist, quick=args.quick, search_size=n)
              for kind in ("sklearn", "nnfast")}
    ratio = result["sklearn"]["seconds"] / result["nnfast"]["seconds"]
    for kind, r in result.items():
        print(f"{kind:8} {r['seconds']:8.1f} s   best {r['best']}")
    print(f"speed-up {ratio:.2f}x")
    report["search"] = {**result, "speedup": ratio}
    if with_dask:
        dask = _run("search", kind="nnfast", mnist=args.mnist, quick=args.quick, search_size=n, dask=True)
        same = dask["scores"] == result["nnfast"]["scores"]
        print(f"\n== the same nnfast search on a 2-worker LocalCluster (joblib's dask backend)\n"
              f"{dask['seconds']:.1f} s; cv_results_ scores equal to the local search's: {same}")
        report["dask"] = {**dask, "equal_to_local": same}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="dropin,search,dask", help="comma-separated: dropin, search, dask")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mnist", default=os.environ.get("NNFAST_MNIST_DIR"), help="the MNIST folder")
    parser.add_argument("--search-size", type=int, default=None, help="MNIST images in the searches")
    parser.add_argument("--quick", action="store_true", help="a smoke run: small data, few epochs")
    parser.add_argument("--json", help="also write the results to this file")
    # worker mode (internal)
    parser.add_argument("--worker", choices=["fit", "search"], help=argparse.SUPPRESS)
    parser.add_argument("--kind", choices=["sklearn", "nnfast"], help=argparse.SUPPRESS)
    parser.add_argument("--dataset", help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    parser.add_argument("--dask", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps((_worker_fit if args.worker == "fit" else _worker_search)(args)))
        return 0
    parts = set(args.parts.split(","))
    unknown = parts - {"dropin", "search", "dask"}
    if unknown or args.repeats < 1:
        parser.error(f"--parts takes dropin, search, dask; got {sorted(unknown)}" if unknown else
                     f"--repeats must be >= 1; got {args.repeats}")
    from nnfast.datasets import load_mnist
    try:
        load_mnist(args.mnist)
        args.mnist_ok = True
    except (FileNotFoundError, ValueError, TypeError) as exc:
        args.mnist_ok = False
        print(f"MNIST cases skipped: {exc}")
    report = {"machine": _machine(), "dropin": []}
    for label, text in report["machine"].items():
        print(f"{label}: {text}")
    if "dropin" in parts:
        _dropin(args, report)
    if parts & {"search", "dask"}:
        if args.mnist_ok:
            _searches(args, report, "dask" in parts)
        else:
            print("searches skipped: they run on MNIST")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
