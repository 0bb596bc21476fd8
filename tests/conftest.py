"""Shared pytest fixtures."""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Here, not in a helper module, so that every test file gets it: compilation makes the
# first example of a run slow (seconds with an empty Numba cache), so no deadline.
# HYPOTHESIS_PROFILE=thorough raises the number of examples.
settings.register_profile("default", deadline=None, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=300,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

#: Where the tests look for the real MNIST files when NNFAST_MNIST_DIR is not set: the
#: shared data folder next to the repository (``<repo>/../shared/data/mnist``).
DEFAULT_MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"

_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _has_mnist(folder):
    """True if ``folder`` holds the four IDX files (gzip or raw) or the two CSV files."""
    def present(base):
        dotted = base.replace("-idx", ".idx")
        names = (base + ".gz", base, dotted + ".gz", dotted)
        return any((folder / name).is_file() for name in names)
    return (all(present(base) for base in _MNIST_FILES)
            or all((folder / name).is_file() for name in ("mnist_train.csv", "mnist_test.csv")))


@pytest.fixture(scope="session")
def mnist_dir():
    """The folder with the real MNIST files: $NNFAST_MNIST_DIR, else DEFAULT_MNIST_DIR.

    Skips the test when neither holds them.
    """
    candidates = []
    if os.environ.get("NNFAST_MNIST_DIR"):
        candidates.append(Path(os.environ["NNFAST_MNIST_DIR"]))
    candidates.append(DEFAULT_MNIST_DIR)
    for folder in candidates:
        if folder.is_dir() and _has_mnist(folder):
            return folder
    pytest.skip("the real MNIST files were not found in "
                + " or ".join(str(f) for f in candidates)
                + " (set NNFAST_MNIST_DIR to a folder with the four IDX files or the CSV files)")
