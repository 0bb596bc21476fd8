"""The ``nnfast`` command line."""

import argparse
import sys
import time

import numpy as np

from . import compiled, reference
from .datasets import load_planar_dataset

_MODULES = {"compiled": compiled, "reference": reference}


def _planar(args):
    """Section 6.9.3: the chapter's planar network, n_h=4, 10000 iterations, lr 1.2."""
    X, Y = load_planar_dataset()
    backends = ["reference", "compiled"] if args.backend == "both" else [args.backend]
    per_iteration = {}
    for name in backends:
        module = _MODULES[name]
        start = time.perf_counter()
        module.nn_model(X, Y, n_h=args.hidden, num_iterations=1)  # compiles or loads the kernels
        warmup = time.perf_counter() - start
        print(f"== {name} backend (first call incl. compile/cache load: {warmup:.2f} s)")
        start = time.perf_counter()
        parameters = module.nn_model(X, Y, n_h=args.hidden, num_iterations=args.iterations,
                                     learning_rate=args.learning_rate, print_cost=not args.quiet)
        elapsed = time.perf_counter() - start
        accuracy = float(np.mean(module.predict(parameters, X) == Y))
        per_iteration[name] = elapsed / max(args.iterations, 1)
        print(f"Accuracy of nn: {accuracy}")
        print(f"time: {elapsed:.3f} s for {args.iterations} iterations = "
              f"{per_iteration[name] * 1e6:.1f} µs/iteration")
    if len(per_iteration) == 2:
        print(f"compiled is {per_iteration['reference'] / per_iteration['compiled']:.1f}x faster "
              "per iteration than the NumPy reference (same process, same data)")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="nnfast", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("planar", help="the chapter's 6.9.3 run on the planar 'flower' data")
    p.add_argument("--backend", choices=["compiled", "reference", "both"], default="compiled")
    p.add_argument("--hidden", type=int, default=4, help="hidden layer size n_h (default 4)")
    p.add_argument("--iterations", type=int, default=10000)
    p.add_argument("--learning-rate", type=float, default=1.2)
    p.add_argument("--quiet", action="store_true", help="do not print the costs")
    p.set_defaults(run=_planar)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
