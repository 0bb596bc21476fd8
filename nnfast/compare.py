"""Looped vs vectorized vs compiled: the time of one full-batch training iteration.

For a range of problem sizes this times the same training step four ways:

- ``looped``      the chapter's "before vectorisation": nnfast's own compiled kernels run
                  as plain interpreted Python (``NUMBA_DISABLE_JIT=1``, libm math), so
                  there is no second looped implementation to keep in step; small sizes only;
- ``numpy``       the vectorized NumPy reference (``backend="reference"``);
- ``compiled-1``  the Numba kernels on one thread (``threads=1``);
- ``compiled-N``  the Numba kernels on nnfast's default number of threads.

Each implementation runs in its own worker process (``python -m nnfast.compare --worker``)
on the same fixed-seed data: the looped one must, since ``NUMBA_DISABLE_JIT`` is read at
import, and the others do too, so that OpenBLAS's and Numba's OpenMP thread pools never
spin against each other on a 2-core machine. All numbers printed come from one run.

Timing: a warm-up call first (compiles or loads the kernels: never timed), then the
number of iterations k is doubled until one ``train`` call takes ``min_time``; the time per
iteration is ``(best t(2k) - best t(k)) / k`` over ``repeats`` repeats, which cancels the
fixed cost of a call (validation, copies of X into the kernels' layout, initial weights)
so that only iterations are counted. That fixed cost is printed too.

Usage: ``nnfast compare [--quick] [--out DIR] [--dtype float32]`` (the plot goes to
``./nnfast-out`` by default, as every nnfast command's figures do) or
``python scripts/compare_looped_vs_vectorized.py ...``.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from ._argtypes import positive_float, positive_int
from ._validate import check_count, check_learning_rate

__all__ = ["Case", "CASES", "flops_per_iteration", "main", "make_problem", "run"]


@dataclass(frozen=True)
class Case:
    """One problem size: the network ``dims`` with ``activations`` on ``m`` examples."""

    network: str          # label, e.g. "2-4-1 planar"
    dims: tuple           # (n_x, n_1, ..., n_L)
    activations: tuple    # one name per layer
    m: int
    quick: bool = False   # part of the --quick subset

    @property
    def weights(self):
        """Number of weights Σ n[l]·n[l-1] (biases excluded: they cost no multiply-add)."""
        return sum(a * b for a, b in zip(self.dims[1:], self.dims[:-1]))

    @property
    def size(self):
        """The x-axis of the plot: multiply-adds of one forward pass, m × weights."""
        return self.m * self.weights


_PLANAR = ("2-4-1 planar", (2, 4, 1), ("tanh", "sigmoid"))
_DIGITS = ("64-32-10 softmax", (64, 32, 10), ("tanh", "softmax"))
_MNIST = ("784-25-10 softmax", (784, 25, 10), ("tanh", "softmax"))

CASES = (
    *(Case(*_PLANAR, m, quick=m in (400, 10000)) for m in (100, 400, 1000, 3000, 10000)),
    Case(*_DIGITS, 1797, quick=True),
    *(Case(*_MNIST, m, quick=m == 10000) for m in (1000, 10000, 60000)),
)

#: The looped (interpreted) implementation runs only up to this many multiply-adds per
#: forward pass (m × weights): about 1 µs each, three passes per iteration.
LOOPED_MAX_SIZE = {"quick": 200_000, "full": 5_000_000}


def flops_per_iteration(dims, m):
    """Floating-point operations of one full-batch iteration, 2 per multiply-add.

    Forward Σ_l 2·m·n[l]·n[l-1]; backward dW[l] the same; dA[l-1] = W[l]ᵀ·dZ[l] the same
    for l ≥ 2 (layer 1 needs no gradient for X). Activations, cost and update are not
    counted (they are O(m·n[l]), not O(m·n[l]·n[l-1])).
    """
    products = [a * b for a, b in zip(dims[1:], dims[:-1])]
    return 2 * m * (2 * sum(products) + sum(products[1:]))


def make_problem(case, dtype=np.float64, seed=0):
    """Fixed-seed data for ``case``: ``X (n_x, m)`` and ``Y (n_L, m)`` in ``dtype``.

    Two inputs: the chapter's planar "flower" (r = 4 sin 4θ, two classes) with m points.
    Otherwise standard-normal inputs of the real data's shape (digits, MNIST) with random
    one-hot labels: the time of an iteration does not depend on the values.
    """
    rng = np.random.default_rng(seed)
    n_x, n_y, m = case.dims[0], case.dims[-1], case.m
    if n_x == 2:
        u = np.linspace(0, 2, m, endpoint=False)        # class j: angles in [3.12 j, 3.12 (j+1))
        labels = np.floor(u)
        t = 3.12 * u + 0.2 * rng.standard_normal(m)
        r = 4 * np.sin(4 * t) + 0.2 * rng.standard_normal(m)
        X = np.stack([r * np.sin(t), r * np.cos(t)])
        Y = labels[None, :]
    else:
        X = rng.standard_normal((n_x, m))
        labels = rng.integers(0, n_y, m)
        Y = (np.arange(n_y)[:, None] == labels[None, :]) if n_y > 1 else labels[None, :]
    return X.astype(dtype), Y.astype(dtype)


# ----------------------------------------------------------------------------------------
# The worker: runs in its own process, times every case for one implementation.

#: name -> (backend, threads or None for all, extra environment of the worker process).
#: The looped run uses libm's exp/tanh: mathfast's LLVM intrinsics cannot run as Python.
IMPLEMENTATIONS = {
    "looped": ("compiled", 1, {"NUMBA_DISABLE_JIT": "1", "NNFAST_MATH": "libm"}),
    "numpy": ("reference", None, {}),
    "compiled-1": ("compiled", 1, {}),
    "compiled-N": ("compiled", None, {}),
}


def _train_seconds(X, Y, case, backend, dtype, iterations):
    import nnfast

    start = time.perf_counter()
    nnfast.train(X, Y, case.dims, case.activations, learning_rate=0.05,
                 num_iterations=iterations, seed=0, backend=backend, dtype=dtype)
    return time.perf_counter() - start


def _time_case(case, backend, dtype, min_time, repeats, warm_up):
    """Seconds per iteration and fixed seconds per ``train`` call (see the module doc)."""
    X, Y = make_problem(case, dtype)
    if warm_up:  # compiles the kernels or loads them from Numba's cache
        _train_seconds(X, Y, case, backend, dtype, 1)
    k = 1
    while (t := _train_seconds(X, Y, case, backend, dtype, k)) < min_time:
        k *= 2
    best_k, best_2k = t, float("inf")
    for _ in range(repeats):  # interleaved, so a slow spell of the machine hits both
        best_2k = min(best_2k, _train_seconds(X, Y, case, backend, dtype, 2 * k))
        best_k = min(best_k, _train_seconds(X, Y, case, backend, dtype, k))
    per_iteration = (best_2k - best_k) / k
    if per_iteration <= 0:  # noise larger than k iterations: fall back to the plain mean
        per_iteration = best_2k / (2 * k)
    return {"seconds": per_iteration, "overhead": max(0.0, best_k - k * per_iteration),
            "iterations": k}


def _worker(spec):
    """Time ``spec["cases"]`` with one implementation; returns a JSON-able dict."""
    from . import _threads

    backend, threads, _ = IMPLEMENTATIONS[spec["impl"]]
    dtype = np.dtype(spec["dtype"])
    with _threads.using(threads):  # the compiled calls' threads= (None: nnfast's default)
        results = [_time_case(Case(**c), backend, dtype, spec["min_time"], spec["repeats"],
                              warm_up=spec["impl"] != "looped")
                   for c in spec["cases"]]
        return {"results": results, "threads": _threads.current()}


def _run_worker(impl, cases, dtype, min_time, repeats):
    """Start the worker process for ``impl``; its results, or None (reason printed)."""
    if not cases:
        return None
    import nnfast

    env = {**os.environ, **IMPLEMENTATIONS[impl][2]}
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(nnfast.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    spec = {"impl": impl, "dtype": np.dtype(dtype).name, "min_time": min_time,
            "repeats": repeats, "cases": [asdict(c) for c in cases]}
    proc = subprocess.run([sys.executable, "-m", "nnfast.compare", "--worker"], input=json.dumps(spec),
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        print(f"[{impl}] worker failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout)


# ----------------------------------------------------------------------------------------
# The report: machine, table, plot.


def machine_info():
    """CPU model, cores and library versions of this machine, as ``{label: text}``."""
    import numba

    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "CPU": f"{model} ({numba.config.CPU_NAME or 'host'} for LLVM)",
        "cores": f"{os.cpu_count()} logical, {usable} usable by this process",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": f"{numba.__version__} (SVML {'on' if numba.config.USING_SVML else 'off'}, "
                 f"NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS})",
    }


def _fmt_time(seconds):
    if seconds is None:
        return "—"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def _fmt(value, spec):
    return "—" if value is None else format(value, spec)


def _table(rows, short):
    """Text table, one row per case: time per iteration, speed-up over NumPy (time NumPy /
    time) and GFLOP/s of each implementation, and the fixed cost of a compiled call."""
    labels = list(short)
    faster = [l for l in labels if l != "numpy"]
    groups = [("", ["network", "m", "m·W"]), ("time per iteration", [short[l] for l in labels]),
              ("speed-up over NumPy", [short[l] for l in faster]),
              ("GFLOP/s", [short[l] for l in labels]), ("", ["call"])]
    body = []
    for case, times, overhead in rows:
        ref, flops = times["numpy"], flops_per_iteration(case.dims, case.m)
        body.append(
            [case.network, str(case.m), f"{case.size:.3g}"]
            + [_fmt_time(times[l]) for l in labels]
            + [_fmt(ref / times[l] if ref and times[l] else None, ".3g") for l in faster]
            + [_fmt(flops / times[l] / 1e9 if times[l] else None, ".3g") for l in labels]
            + [_fmt_time(overhead) if overhead else "~0"])
    head = [name for _, names in groups for name in names]
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    # Group titles centred over their columns, separated by " | ".
    titles, col = [], 0
    for title, names in groups:
        span = sum(widths[col:col + len(names)]) + 2 * (len(names) - 1)
        titles.append(title.center(span))
        col += len(names)

    def line(cells, sep="  "):
        out, col = [], 0
        for _, names in groups:
            part = [c.rjust(w) if col + i else c.ljust(w)
                    for i, (c, w) in enumerate(zip(cells[col:col + len(names)], widths[col:]))]
            out.append(sep.join(part))
            col += len(names)
        return " | ".join(out)

    rule = " | ".join("-" * len(t) for t in titles)
    return "\n".join([" | ".join(titles), line(head), rule] + [line(r) for r in body])


def _plot(rows, labels, names, path, title):
    """Log-log time per iteration against m × weights; one colour per implementation,
    one marker per network. Returns the path, or None without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(8, 5.5))
    networks = list(dict.fromkeys(case.network for case, _, _ in rows))
    markers = dict(zip(networks, "os^Dv"))
    for i, label in enumerate(labels):
        for net in networks:
            points = sorted((c.size, t[label]) for c, t, _ in rows if c.network == net and t[label])
            if points:
                x, y = zip(*points)
                ax.plot(x, y, marker=markers[net], color=f"C{i}")
    # Two legends: colour = implementation, marker = network.
    from matplotlib.lines import Line2D

    colours = [Line2D([], [], color=f"C{i}", lw=2, label=names[l]) for i, l in enumerate(labels)]
    shapes = [Line2D([], [], color="grey", ls="", marker=markers[n], label=n) for n in networks]
    ax.add_artist(ax.legend(handles=colours, loc="upper left", fontsize=8))
    ax.legend(handles=shapes, loc="lower right", fontsize=8)
    ax.set(xscale="log", yscale="log", xlabel="problem size: m × number of weights",
           ylabel="time per full-batch iteration (s)", title=title)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _collect(cases, looped_cases, outputs):
    """Rows ``[(Case, {impl: seconds or None}, fixed seconds of a compiled call), ...]``."""
    rows = []
    for case in cases:
        times, overhead = {}, None
        for impl, output in outputs.items():
            todo = looped_cases if impl == "looped" else cases
            result = output["results"][todo.index(case)] if output and case in todo else None
            times[impl] = result["seconds"] if result else None
            if impl == "compiled-N" and result:
                overhead = result["overhead"]
        rows.append((case, times, overhead))
    return rows


def _default_out():
    """The output folder of every nnfast command, ./nnfast-out (imported late: the worker
    processes never need the command line)."""
    from .cli import DEFAULT_OUT

    return DEFAULT_OUT


def run(quick=False, dtype=np.float64, out=None, min_time=None, repeats=None, looped=True):
    """Measure every case with every implementation, print the report, save the plot
    into ``out`` (default ``./nnfast-out``, like every nnfast command).

    Returns the rows ``[(Case, {impl: seconds or None}, fixed seconds per call), ...]``.
    """
    import numba

    from . import _config

    mode, dtype = ("quick" if quick else "full"), np.dtype(dtype)
    cases = [c for c in CASES if c.quick or not quick]
    looped_cases = [c for c in cases if looped and c.size <= LOOPED_MAX_SIZE[mode]]
    # Checked before minutes of measurements: an infinite min_time doubles k forever.
    min_time = check_learning_rate(min_time, "min_time") if min_time is not None else (0.05 if quick else 0.2)
    repeats = check_count("repeats", repeats, minimum=1) if repeats is not None else (3 if quick else 5)
    n = numba.config.NUMBA_NUM_THREADS
    names = {"looped": "Python loops (JIT off)", "numpy": "NumPy reference",
             "compiled-1": "compiled, 1 thread", "compiled-N": f"compiled, {n} threads"}
    short = {"looped": "loops", "numpy": "NumPy", "compiled-1": "1 thr", "compiled-N": f"{n} thr"}

    print(f"nnfast compare ({mode}, {dtype.name}): time per full-batch training iteration")
    for key, value in machine_info().items():
        print(f"  {key:8s} {value}")
    print("  load     %.2f %.2f %.2f before (1, 5, 15 min averages)" % os.getloadavg())
    started = time.perf_counter()
    outputs = {}
    for number, impl in enumerate(IMPLEMENTATIONS, start=1):
        # The looped runs take seconds each: k = 1 and two repeats are plenty against their noise.
        outputs[impl] = (_run_worker(impl, looped_cases, dtype, 0.0, 2) if impl == "looped" else
                         _run_worker(impl, cases, dtype, min_time, repeats))
        # Progress on stderr (a full run takes minutes; the report on stdout stays clean).
        print(f"  [{number}/{len(IMPLEMENTATIONS)}] {names[impl]} measured "
              f"({time.perf_counter() - started:.0f} s so far)", file=sys.stderr, flush=True)
    done = outputs["compiled-N"]
    if done:
        print(f"  threads  compiled-N ran {done['threads']} nnfast threads")
    print("  load     %.2f %.2f %.2f after" % os.getloadavg())
    rows = _collect(cases, looped_cases, outputs)
    print()
    print(_table(rows, short))
    threshold = getattr(_config, "PARALLEL_MIN_WORK", None)
    print("\nm·W = m × number of weights. Speed-up = time NumPy / time. GFLOP/s: 2 flops per "
          "multiply-add of forward, dW and dA[l-1] (l ≥ 2). call = fixed cost of one compiled "
          "train() call (validation, copies), left out of the times per iteration"
          + (f". Compiled kernels run one thread below m·W = {threshold:.3g}" if threshold else "")
          + f". Loops only up to m·W = {LOOPED_MAX_SIZE[mode]:.3g}. "
          f"{time.perf_counter() - started:.0f} s of measurements.")
    out = _default_out() if out is None else out
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"compare_{mode}_{dtype.name}.png")
    saved = _plot(rows, list(IMPLEMENTATIONS), names, path,
                  f"nnfast: one full-batch training iteration ({dtype.name})")
    print(f"plot: {saved}" if saved else "plot: not saved: matplotlib is not installed "
          "(pip install 'nnfast[plot]'); the table above has every number")
    return rows


def _parser():
    p = argparse.ArgumentParser(prog="nnfast compare", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a subset of the sizes (under a minute)")
    p.add_argument("--out", default=_default_out(), metavar="DIR",
                   help=f"folder for the PNG plot, created if needed (default ./{_default_out()}, "
                        f"as for every nnfast command)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--min-time", type=positive_float, default=None,
                   help="seconds one timed train() call must last (default 0.05 quick, 0.2 full)")
    p.add_argument("--repeats", type=positive_int, default=None,
                   help="best of this many (default 3 quick, 5 full)")
    p.add_argument("--no-looped", action="store_true", help="skip the interpreted (JIT off) runs")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return p


def main(argv=None):
    """Entry point of ``nnfast compare``; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.worker:  # internal: spec on stdin, results on stdout
        json.dump(_worker(json.load(sys.stdin)), sys.stdout)
        return 0
    try:  # now, not after minutes of measurements
        os.makedirs(args.out, exist_ok=True)
    except OSError as exc:
        parser.error(f"--out {args.out}: cannot create the folder: {exc.strerror or exc}")
    run(quick=args.quick, dtype=np.dtype(args.dtype), out=args.out, min_time=args.min_time,
        repeats=args.repeats, looped=not args.no_looped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
