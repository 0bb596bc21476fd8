"""Tests of nnfast.datasets: the chapter's data sets, the MNIST readers, one-hot labels."""

import gzip
import re
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from nnfast import datasets
from nnfast.datasets import (from_one_hot, load_extra_datasets, load_mnist, load_planar_dataset,
                             one_hot)

EXTRA_KEYS = ["noisy_circles", "noisy_moons", "blobs", "gaussian_quantiles", "no_structure"]


def same_state(a, b):
    """Two np.random.get_state() tuples are equal."""
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and a[2:] == b[2:]


class global_seed:
    """Run a block under np.random.seed(seed) and restore the caller's global state after."""

    def __init__(self, seed):
        self.seed = seed

    def __enter__(self):
        self.saved = np.random.get_state()
        np.random.seed(self.seed)

    def __exit__(self, *exc):
        np.random.set_state(self.saved)


# ----------------------------------------------------------------------------------------
# The planar flower


def chapter_load_planar_dataset():
    """planar_utils.load_planar_dataset, as printed in section 6.9.1 (uses the global RNG)."""
    np.random.seed(1)
    m = 400
    N = int(m / 2)
    D = 2
    X = np.zeros((m, D))
    Y = np.zeros((m, 1), dtype='uint8')
    a = 4
    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + np.random.randn(N) * 0.2
        r = a * np.sin(4 * t) + np.random.randn(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    X = X.T
    Y = Y.T
    return X, Y


def test_planar_equals_the_chapters_code():
    with global_seed(0):
        X_ref, Y_ref = chapter_load_planar_dataset()
    X, Y = load_planar_dataset()
    assert X.shape == (2, 400) and X.dtype == np.float64 and X.flags.c_contiguous
    assert Y.shape == (1, 400) and Y.dtype == np.uint8 and Y.flags.c_contiguous
    assert_array_equal(X, X_ref)
    assert_array_equal(Y, Y_ref)
    assert_array_equal(Y[0], np.repeat([0, 1], 200))


def test_planar_leaves_the_global_random_state_alone():
    with global_seed(12345):
        before = np.random.get_state()
        load_planar_dataset()
        assert same_state(np.random.get_state(), before)


# ----------------------------------------------------------------------------------------
# The extra data sets: layout, determinism


@pytest.mark.parametrize("seed", [None, 0, 3, 2**32 - 1])
def test_extra_datasets_layout_and_labels(seed):
    data = load_extra_datasets(seed)
    assert list(data) == EXTRA_KEYS
    for name, (X, Y) in data.items():
        assert X.shape == (2, 200) and X.dtype == np.float64 and X.flags.c_contiguous, name
        assert Y.shape == (1, 200) and Y.dtype == np.int64 and Y.flags.c_contiguous, name
        assert set(np.unique(Y)) <= {0, 1}, name
        assert np.isfinite(X).all(), name
    # Balanced by construction: 100/100 (blobs: blobs 0, 2, 4 = 34 + 33 + 33 points).
    for name in EXTRA_KEYS[:4]:
        assert np.bincount(data[name][1][0]).tolist() == [100, 100], name
    assert set(np.unique(data["no_structure"][1])) == {0, 1}


def test_extra_datasets_are_deterministic_per_seed():
    for seed in (None, 0, 7):
        a, b = load_extra_datasets(seed), load_extra_datasets(seed)
        for name in EXTRA_KEYS:
            assert_array_equal(a[name][0], b[name][0])
            assert_array_equal(a[name][1], b[name][1])
    a, b, default = load_extra_datasets(0), load_extra_datasets(1), load_extra_datasets()
    for name in ("noisy_circles", "noisy_moons", "gaussian_quantiles", "no_structure"):
        assert not np.array_equal(a[name][0], b[name][0]), name
        assert not np.array_equal(a[name][0], default[name][0]), name
    # The chapter fixes random_state=5 for the blobs: the same for every seed.
    assert_array_equal(a["blobs"][0], b["blobs"][0])
    assert_array_equal(a["blobs"][0], default["blobs"][0])


def test_extra_datasets_leave_the_global_random_state_alone():
    with global_seed(99):
        before = np.random.get_state()
        load_extra_datasets()
        load_extra_datasets(5)
        assert same_state(np.random.get_state(), before)


@pytest.mark.parametrize("seed, exc", [(1.5, TypeError), ("1", TypeError), (True, TypeError),
                                       (-1, ValueError), (2**32, ValueError)])
def test_extra_datasets_reject_bad_seeds(seed, exc):
    with pytest.raises(exc, match="seed must be None or an integer"):
        load_extra_datasets(seed)


def test_extra_datasets_accept_numpy_integer_seeds():
    assert_array_equal(load_extra_datasets(np.int64(4))["noisy_moons"][0],
                       load_extra_datasets(4)["noisy_moons"][0])


# ----------------------------------------------------------------------------------------
# The default data are the chapter's: its printed training costs are reproduced
# (this needs no scikit-learn: the chapter's nn_model is short, rewritten here).


def chapter_nn_model_costs(X, Y, n_h=4, num_iterations=10000, learning_rate=1.2):
    """Section 6.9.2's nn_model; returns the costs it prints every 1000 iterations."""
    rng = np.random.RandomState(2)          # initialize_parameters' np.random.seed(2)
    n_x, n_y = X.shape[0], Y.shape[0]
    W1 = rng.randn(n_h, n_x) * 0.01
    b1 = np.zeros((n_h, 1))
    W2 = rng.randn(n_y, n_h) * 0.01
    b2 = np.zeros((n_y, 1))
    m = X.shape[1]
    costs = []
    for i in range(num_iterations):
        Z1 = np.dot(W1, X) + b1
        A1 = np.tanh(Z1)
        Z2 = np.dot(W2, A1) + b2
        A2 = 1 / (1 + np.exp(-Z2))
        if i % 1000 == 0:
            logprobs = np.multiply(np.log(A2), Y) + np.multiply(np.log(1 - A2), (1 - Y))
            costs.append(-1 / m * np.sum(logprobs))
        dZ2 = A2 - Y
        dW2 = 1. / m * np.dot(dZ2, A1.T)
        db2 = 1. / m * np.sum(dZ2, axis=1, keepdims=True)
        dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))
        dW1 = 1. / m * np.dot(dZ1, X.T)
        db1 = 1. / m * np.sum(dZ1, axis=1, keepdims=True)
        W1 = W1 - dW1 * learning_rate
        b1 = b1 - db1 * learning_rate
        W2 = W2 - dW2 * learning_rate
        b2 = b2 - db2 * learning_rate
    return np.array(costs)


def test_default_noisy_moons_reproduce_the_chapters_printed_costs():
    # Section 6.9.3, "If noisy_moons is selected": all ten printed costs.
    printed = [0.692992, 0.167137, 0.069092, 0.063716, 0.061312,
               0.059669, 0.058364, 0.057279, 0.056359, 0.055569]
    X, Y = load_extra_datasets()["noisy_moons"]
    np.testing.assert_allclose(chapter_nn_model_costs(X, Y), printed, rtol=0, atol=1e-6)


def test_default_gaussian_quantiles_reproduce_the_chapters_first_costs():
    # The chapter's gaussian_quantiles run oscillates (learning rate 1.2), so after the
    # second print its costs depend on the last bits of the BLAS; the first two do not.
    X, Y = load_extra_datasets()["gaussian_quantiles"]
    costs = chapter_nn_model_costs(X, Y, num_iterations=1001)
    np.testing.assert_allclose(costs, [0.693130, 0.102746], rtol=0, atol=1e-6)


# ----------------------------------------------------------------------------------------
# Geometry derived from the definitions. Running a generator with noise=0 and with noise
# from the same seed gives the noise-free points and, by difference, the noise itself.


def noise_free_and_noise(make, seed, n, **kwargs):
    noisy_kwargs = dict(kwargs)
    clean_kwargs = dict(kwargs, noise=0.0)
    X, y = make(np.random.RandomState(seed), n, **noisy_kwargs)
    X0, y0 = make(np.random.RandomState(seed), n, **clean_kwargs)
    assert_array_equal(y, y0)
    return X0, y0, X - X0


@pytest.mark.parametrize("n", [200, 201, 2000])
def test_circles_geometry(n):
    X0, y, noise = noise_free_and_noise(datasets._make_circles, 11, n, factor=0.5, noise=0.3)
    radius = np.hypot(X0[:, 0], X0[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0, atol=1e-12)
    np.testing.assert_allclose(radius[y == 1], 0.5 * 1.0, atol=1e-12)   # factor x outer
    assert np.bincount(y).tolist() == [n // 2, n - n // 2]
    for label in (0, 1):  # equally spaced angles 2 pi k / n_class, first point not repeated
        angles = np.sort(np.mod(np.arctan2(X0[y == label, 1], X0[y == label, 0]), 2 * np.pi))
        k = np.arange(len(angles))
        np.testing.assert_allclose(angles, 2 * np.pi * k / len(angles), atol=1e-9)
    if n >= 2000:
        assert abs(noise.mean()) < 0.02
        assert abs(noise.std() - 0.3) < 0.02


@pytest.mark.parametrize("n", [200, 201, 2000])
def test_moons_are_two_half_circles(n):
    X0, y, noise = noise_free_and_noise(datasets._make_moons, 12, n, noise=0.2)
    upper, lower = X0[y == 0], X0[y == 1]
    # class 0: the upper half of the unit circle
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-12)
    assert (upper[:, 1] >= -1e-12).all()
    # class 1: the lower half of the unit circle centred at (1, 0.5)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, atol=1e-12)
    assert (lower[:, 1] <= 0.5 + 1e-12).all()
    assert np.bincount(y).tolist() == [n // 2, n - n // 2]
    if n >= 2000:
        assert abs(noise.mean()) < 0.02
        assert abs(noise.std() - 0.2) < 0.015


def test_blobs_definition():
    X, y, centres = datasets._make_blobs(np.random.RandomState(3), 6000 + 4, centers=6)
    assert centres.shape == (6, 2)
    assert ((centres > -10) & (centres < 10)).all()
    assert np.bincount(y).tolist() == [1001, 1001, 1001, 1001, 1000, 1000]
    for i in range(6):
        pts = X[y == i]
        np.testing.assert_allclose(pts.mean(axis=0), centres[i], atol=0.15)
        np.testing.assert_allclose(pts.std(axis=0), 1.0, atol=0.08)


def test_chapter_blobs_are_six_blobs_folded_to_two_classes():
    X, Y = load_extra_datasets()["blobs"]
    X6, y6, _ = datasets._make_blobs(np.random.RandomState(5), 200, centers=6)
    assert np.bincount(y6).tolist() == [34, 34, 33, 33, 33, 33]
    assert_array_equal(X, X6.T)
    assert_array_equal(Y[0], y6 % 2)


def test_gaussian_quantiles_split_at_the_chi_square_median():
    n = 20000
    X, y = datasets._make_gaussian_quantiles(np.random.RandomState(4), n, cov=0.5)
    r2 = np.sum(X ** 2, axis=1)
    assert np.bincount(y).tolist() == [n // 2, n // 2]
    assert r2[y == 0].max() <= r2[y == 1].min()     # class 0 is the inner half
    cut = (r2[y == 0].max() + r2[y == 1].min()) / 2
    # ||x||^2 / cov is chi-square(2), whose median is 2 ln 2.
    assert abs(cut - 0.5 * 2 * np.log(2)) < 0.03
    np.testing.assert_allclose(np.cov(X.T), 0.5 * np.eye(2), atol=0.02)


def test_chapter_gaussian_quantiles_split_by_distance():
    X, Y = load_extra_datasets(8)["gaussian_quantiles"]
    r2 = np.sum(X ** 2, axis=0)
    assert r2[Y[0] == 0].max() <= r2[Y[0] == 1].min()


def test_no_structure_labels_are_a_second_uniform_draw():
    rng = np.random.RandomState(21)
    X_ref, U = rng.rand(5000, 2), rng.rand(5000, 2)
    X, y = datasets._make_no_structure(np.random.RandomState(21), 5000)
    assert_array_equal(X, X_ref)
    assert_array_equal(y, U[:, 0] >= 0.5)
    assert ((X >= 0) & (X < 1)).all()
    assert abs(y.mean() - 0.5) < 0.03
    assert abs(np.corrcoef(X[:, 0], y)[0, 1]) < 0.05


# ----------------------------------------------------------------------------------------
# Against scikit-learn, when it is installed


def chapter_load_extra_datasets():
    """planar_utils.load_extra_datasets, as printed in section 6.9.1 (global RNG, sklearn)."""
    import sklearn.datasets
    N = 200
    noisy_circles = sklearn.datasets.make_circles(n_samples=N, factor=.5, noise=.3)
    noisy_moons = sklearn.datasets.make_moons(n_samples=N, noise=.2)
    blobs = sklearn.datasets.make_blobs(n_samples=N, random_state=5, n_features=2, centers=6)
    gaussian_quantiles = sklearn.datasets.make_gaussian_quantiles(
        mean=None, cov=0.5, n_samples=N, n_features=2, n_classes=2, shuffle=True,
        random_state=None)
    no_structure = np.random.rand(N, 2), np.random.rand(N, 2)
    return noisy_circles, noisy_moons, blobs, gaussian_quantiles, no_structure


def sklearn_or_skip():
    return pytest.importorskip(
        "sklearn.datasets",
        reason="scikit-learn is not installed; it is only needed to cross-check the extra data "
               "sets against the chapter's own code")


@pytest.mark.parametrize("seed", [None, 0, 1, 42])
def test_extra_datasets_equal_the_chapters_code(seed):
    sklearn_or_skip()
    saved = np.random.get_state()
    try:
        if seed is None:
            # What the chapter's global generator holds when 6.9.3 calls load_extra_datasets:
            # the last nn_model of the hidden-layer loop (n_h = 50) seeded 2, drew W1, W2.
            np.random.seed(2)
            np.random.randn(50, 2)
            np.random.randn(1, 50)
        else:
            np.random.seed(seed)
        chapter = chapter_load_extra_datasets()
    finally:
        np.random.set_state(saved)
    ours = load_extra_datasets(seed)
    for name, (X_ch, y_ch) in zip(EXTRA_KEYS[:4], chapter[:4]):
        X_ch, Y_ch = X_ch.T, y_ch.reshape(1, y_ch.shape[0])   # the chapter's own reshaping
        if name == "blobs":
            Y_ch = Y_ch % 2
        assert_array_equal(ours[name][0], X_ch, err_msg=name)
        assert_array_equal(ours[name][1], Y_ch, err_msg=name)
    X_ch, U_ch = chapter[4]
    assert_array_equal(ours["no_structure"][0], X_ch.T)
    assert_array_equal(ours["no_structure"][1][0], U_ch[:, 0] >= 0.5)


def class_statistics(X, y):
    """Per class: mean point, mean and std of the distance to the origin, count."""
    out = []
    for label in np.unique(y):
        pts = X[y == label]
        r = np.hypot(pts[:, 0], pts[:, 1])
        out.append(np.r_[pts.mean(axis=0), r.mean(), r.std(), len(pts)])
    return np.array(out)


def test_extra_generators_match_sklearn_in_distribution():
    skd = sklearn_or_skip()
    n = 4000
    pairs = {
        "circles": (datasets._make_circles(np.random.RandomState(100), n, factor=.5, noise=.3),
                    skd.make_circles(n_samples=n, factor=.5, noise=.3, random_state=200)),
        "moons": (datasets._make_moons(np.random.RandomState(101), n, noise=.2),
                  skd.make_moons(n_samples=n, noise=.2, random_state=201)),
        "quantiles": (datasets._make_gaussian_quantiles(np.random.RandomState(102), n, cov=.5),
                      skd.make_gaussian_quantiles(cov=.5, n_samples=n, n_features=2,
                                                  n_classes=2, random_state=202)),
    }
    for name, ((X, y), (X_sk, y_sk)) in pairs.items():
        ours, theirs = class_statistics(X, y), class_statistics(X_sk, y_sk)
        assert_array_equal(ours[:, 4], theirs[:, 4], err_msg=name)          # class sizes
        np.testing.assert_allclose(ours[:, :4], theirs[:, :4], atol=0.05, err_msg=name)
    # The blobs' centres are random too: compare the spread around each centre.
    X, y, c = datasets._make_blobs(np.random.RandomState(103), n, centers=6)
    X_sk, y_sk, c_sk = skd.make_blobs(n_samples=n, centers=6, n_features=2, random_state=203,
                                      return_centers=True)
    assert_array_equal(np.bincount(y), np.bincount(y_sk))
    for i in range(6):
        np.testing.assert_allclose((X[y == i] - c[i]).std(axis=0),
                                   (X_sk[y_sk == i] - c_sk[i]).std(axis=0), atol=0.12)


# ----------------------------------------------------------------------------------------
# MNIST from small files written here

IDX = {("train", "images"): "train-images-idx3-ubyte",
       ("train", "labels"): "train-labels-idx1-ubyte",
       ("test", "images"): "t10k-images-idx3-ubyte",
       ("test", "labels"): "t10k-labels-idx1-ubyte"}


def idx_images(images, *, magic=2051, count=None, rows=28, cols=28):
    """The bytes of an IDX images file holding ``images`` (n, 28, 28) uint8."""
    n = len(images) if count is None else count
    return struct.pack(">IIII", magic, n, rows, cols) + np.asarray(images, np.uint8).tobytes()


def idx_labels(labels, *, magic=2049, count=None):
    n = len(labels) if count is None else count
    return struct.pack(">II", magic, n) + np.asarray(labels, np.uint8).tobytes()


def small_mnist(seed=0, n_train=7, n_test=3):
    """Random images (with the extreme pixels 0 and 255 present) and labels."""
    rng = np.random.default_rng(seed)
    data = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        images[0, 0, :2] = (0, 255)
        data[split] = images, rng.integers(0, 10, size=n).astype(np.uint8)
    return data


def write_idx(folder, data, *, gz=True, dotted=False, override=None):
    """Write the four IDX files; ``override`` maps (split, kind) to replacement bytes."""
    folder = Path(folder)
    for (split, kind), base in IDX.items():
        images, labels = data[split]
        raw = idx_images(images) if kind == "images" else idx_labels(labels)
        raw = (override or {}).get((split, kind), raw)
        name = base.replace("-idx", ".idx") if dotted else base
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)
    return folder


def write_csv(folder, data, names=("mnist_train.csv", "mnist_test.csv")):
    for split, name in zip(("train", "test"), names):
        images, labels = data[split]
        rows = np.column_stack([labels, images.reshape(len(images), -1)])
        np.savetxt(Path(folder) / name, rows, fmt="%d", delimiter=",")


def chapter_scaling(images):
    """Section 6.9.4: pixel * (0.99/255) + 0.01 in float64, one image per column."""
    fac = 0.99 / 255
    return (np.asarray(images.reshape(len(images), 784), dtype=np.float64) * fac + 0.01).T


def check_small_mnist(result, data, dtype=np.float64):
    X_train, y_train, X_test, y_test = result
    for X, y, split in ((X_train, y_train, "train"), (X_test, y_test, "test")):
        images, labels = data[split]
        assert X.shape == (784, len(images)) and X.dtype == dtype and X.flags.c_contiguous
        assert y.shape == (len(images),) and y.dtype == np.int64
        assert_array_equal(X, chapter_scaling(images).astype(dtype))
        assert_array_equal(y, labels)
        # Column i is image i, its 28 x 28 pixels in row-major order.
        assert_array_equal(X[:, 1].reshape(28, 28), chapter_scaling(images[1:2]).astype(dtype)[:, 0]
                           .reshape(28, 28))
    assert X_train[0, 0] == dtype(0.01) and X_train[1, 0] == dtype(1.0)


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("dotted", [False, True], ids=["dash", "dot"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mnist_idx(tmp_path, gz, dotted, dtype):
    data = small_mnist()
    write_idx(tmp_path, data, gz=gz, dotted=dotted)
    check_small_mnist(load_mnist(tmp_path, dtype=dtype), data, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mnist_csv(tmp_path, dtype):
    data = small_mnist(1)
    write_csv(tmp_path, data)
    check_small_mnist(load_mnist(str(tmp_path), dtype=dtype), data, dtype)


def test_mnist_csv_equals_the_chapters_loadtxt(tmp_path):
    data = small_mnist(2)
    write_csv(tmp_path, data)
    train_data = np.loadtxt(tmp_path / "mnist_train.csv", delimiter=",")
    X_train, y_train, _, _ = load_mnist(tmp_path)
    assert_array_equal(X_train, np.transpose(train_data[:, 1:] * (0.99 / 255) + 0.01))
    assert_array_equal(y_train, train_data[:, 0])


def test_mnist_prefers_idx_when_both_formats_are_present(tmp_path):
    data_idx, data_csv = small_mnist(3), small_mnist(4, n_train=5, n_test=2)
    write_idx(tmp_path, data_idx)
    write_csv(tmp_path, data_csv)
    check_small_mnist(load_mnist(tmp_path), data_idx)


@given(n_train=st.integers(0, 5), n_test=st.integers(0, 3), seed=st.integers(0, 2**16),
       gz=st.booleans())
@settings(max_examples=25, deadline=None)
def test_mnist_idx_any_small_count(n_train, n_test, seed, gz):
    data = small_mnist(seed, n_train=max(n_train, 1), n_test=max(n_test, 1))
    data = {"train": tuple(a[:n_train] for a in data["train"]),
            "test": tuple(a[:n_test] for a in data["test"])}
    with tempfile.TemporaryDirectory() as folder:
        write_idx(folder, data, gz=gz)
        X_train, y_train, X_test, y_test = load_mnist(folder)
    assert X_train.shape == (784, n_train) and X_test.shape == (784, n_test)
    assert_array_equal(X_train, chapter_scaling(data["train"][0]))
    assert_array_equal(y_test, data["test"][1])


# -- MNIST: where the files are looked for


def test_mnist_env_var_is_used_when_no_path_is_given(tmp_path, monkeypatch):
    data = small_mnist(5)
    write_idx(tmp_path, data)
    monkeypatch.setenv("NNFAST_MNIST_DIR", str(tmp_path))
    check_small_mnist(load_mnist(), data)


def test_mnist_path_argument_wins_over_env_var(tmp_path, monkeypatch):
    data = small_mnist(6)
    write_idx(tmp_path, data)
    monkeypatch.setenv("NNFAST_MNIST_DIR", str(tmp_path / "nowhere"))
    check_small_mnist(load_mnist(tmp_path), data)


def test_mnist_without_path_or_env_var(monkeypatch):
    monkeypatch.delenv("NNFAST_MNIST_DIR", raising=False)
    with pytest.raises(FileNotFoundError) as info:
        load_mnist()
    message = str(info.value)
    for fragment in ("NNFAST_MNIST_DIR", "path", "train-images-idx3-ubyte",
                     "t10k-labels-idx1-ubyte", "mnist_train.csv", "LeCun"):
        assert fragment in message


def test_mnist_not_found_message_lists_files_and_folder(tmp_path, monkeypatch):
    data = small_mnist(7)
    write_idx(tmp_path, data)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setenv("NNFAST_MNIST_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        load_mnist()
    message = str(info.value)
    assert str(tmp_path) in message and "NNFAST_MNIST_DIR" in message
    assert "t10k-labels-idx1-ubyte[.gz]  (MISSING)" in message
    assert "train-images-idx3-ubyte[.gz]  (found)" in message
    assert "mnist_train.csv  (MISSING)" in message and "mnist_test.csv" in message
    assert "LeCun" in message and "Cortes" in message and "Burges" in message


def test_mnist_folder_that_does_not_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("NNFAST_MNIST_DIR", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="is not an existing directory"):
        load_mnist()


def test_mnist_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="path must be"):
        load_mnist(3)
    write_idx(tmp_path, small_mnist())
    with pytest.raises(ValueError, match="float32 or float64"):
        load_mnist(tmp_path, dtype=np.int32)


# -- MNIST: malformed files


def mnist_error(folder, exc=ValueError):
    with pytest.raises(exc) as info:
        load_mnist(folder)
    return str(info.value)


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("keep", [10, 16 + 784 * 3 + 5], ids=["in-header", "in-pixels"])
def test_mnist_truncated_images(tmp_path, gz, keep):
    data = small_mnist()
    raw = idx_images(data["train"][0])[:keep]
    write_idx(tmp_path, data, gz=gz, override={("train", "images"): raw})
    message = mnist_error(tmp_path)
    assert "train-images-idx3-ubyte" in message and "truncated" in message


def test_mnist_truncated_labels(tmp_path):
    data = small_mnist()
    raw = idx_labels(data["test"][1])[:-1]
    write_idx(tmp_path, data, override={("test", "labels"): raw})
    message = mnist_error(tmp_path)
    assert "t10k-labels-idx1-ubyte" in message and "truncated" in message
    assert "3 labels" in message


def test_mnist_truncated_gzip_stream(tmp_path):
    data = small_mnist()
    write_idx(tmp_path, data)
    file = tmp_path / "train-images-idx3-ubyte.gz"
    file.write_bytes(file.read_bytes()[:-20])
    message = mnist_error(tmp_path)
    assert str(file) in message and "gzip" in message


def test_mnist_trailing_bytes(tmp_path):
    data = small_mnist()
    raw = idx_images(data["test"][0]) + b"\0" * 7
    write_idx(tmp_path, data, gz=False, override={("test", "images"): raw})
    message = mnist_error(tmp_path)
    assert "t10k-images-idx3-ubyte" in message and "7 unexpected bytes" in message


@pytest.mark.parametrize("which, magic, expected", [
    (("train", "images"), 2049, 2051), (("train", "labels"), 2051, 2049),
    (("test", "images"), 0x12345678, 2051)])
def test_mnist_wrong_magic(tmp_path, which, magic, expected):
    data = small_mnist()
    images, labels = data[which[0]]
    if which[1] == "images":
        raw = idx_images(images, magic=magic)
    else:
        raw = idx_labels(labels, magic=magic)
    write_idx(tmp_path, data, override={which: raw})
    message = mnist_error(tmp_path)
    assert IDX[which] in message and "magic" in message
    assert f"expected {expected}" in message and f"found {magic}" in message


@pytest.mark.parametrize("rows, cols", [(27, 28), (28, 29), (784, 1)])
def test_mnist_wrong_image_size(tmp_path, rows, cols):
    data = small_mnist()
    raw = idx_images(data["train"][0], rows=rows, cols=cols)
    write_idx(tmp_path, data, override={("train", "images"): raw})
    message = mnist_error(tmp_path)
    assert "train-images-idx3-ubyte" in message
    assert "28x28" in message and f"{rows}x{cols}" in message


def test_mnist_count_mismatch(tmp_path):
    data = small_mnist()
    raw = idx_labels(data["train"][1][:6])
    write_idx(tmp_path, data, override={("train", "labels"): raw})
    message = mnist_error(tmp_path)
    assert "train-images-idx3-ubyte" in message and "train-labels-idx1-ubyte" in message
    assert "7 images" in message and "6 labels" in message


def test_mnist_label_out_of_range(tmp_path):
    data = small_mnist()
    labels = data["test"][1].copy()
    labels[2] = 10
    write_idx(tmp_path, data, override={("test", "labels"): idx_labels(labels)})
    message = mnist_error(tmp_path)
    assert "t10k-labels-idx1-ubyte" in message and "0..9" in message and "label 2 is 10" in message


def csv_lines(data):
    images, labels = data["train"]
    return [",".join(map(str, [int(l), *img.ravel()])) for l, img in zip(labels, images)]


def replace_line(lines, i, line):
    return lines[:i] + [line] + lines[i + 1:]


def without_last(line):
    return line.rsplit(",", 1)[0]


def with_label(line, label):
    return label + line[line.index(","):]


def last_pixel_of_line_3(lines, value):
    return replace_line(lines, 3, without_last(lines[3]) + "," + value)


# Lines np.loadtxt cannot parse are reported with its own message (which names the row)
# after nnfast's, which states the format: "785 numbers separated by commas".
BAD_CSV = {  # id: (edit of the valid lines, fragment of the message)
    "short-line": (lambda L: replace_line(L, 2, without_last(L[2])), "785 numbers"),
    "long-line": (lambda L: replace_line(L, 1, L[1] + ",0"), "785 numbers"),
    "784-fields": (lambda L: [without_last(line) for line in L], "found 784"),
    "label-10": (lambda L: replace_line(L, 0, with_label(L[0], "10")), "label 10.0"),
    "label-3.5": (lambda L: replace_line(L, 0, with_label(L[0], "3.5")), "label 3.5"),
    "pixel-256": (lambda L: last_pixel_of_line_3(L, "256"), "pixel 783 is 256.0"),
    "pixel-negative": (lambda L: last_pixel_of_line_3(L, "-1"), "pixel 783 is -1.0"),
    "pixel-fraction": (lambda L: last_pixel_of_line_3(L, "0.5"), "pixel 783 is 0.5"),
    "not-a-number": (lambda L: last_pixel_of_line_3(L, "x"), "785 numbers"),
    "header-line": (lambda L: ["label," + ",".join(f"p{i}" for i in range(784))] + L,
                    "785 numbers"),
    "empty": (lambda L: [], "no data"),
}


@pytest.mark.parametrize("edit, fragment", BAD_CSV.values(), ids=BAD_CSV.keys())
def test_mnist_bad_csv(tmp_path, edit, fragment):
    data = small_mnist()
    write_csv(tmp_path, data)
    lines = edit(csv_lines(data))
    (tmp_path / "mnist_train.csv").write_text("".join(line + "\n" for line in lines))
    message = mnist_error(tmp_path)
    assert "mnist_train.csv" in message and fragment in message


# -- MNIST: the real files, when present


@pytest.fixture(scope="session")
def real_mnist(mnist_dir):
    return load_mnist(mnist_dir)


def test_real_mnist(real_mnist):
    X_train, y_train, X_test, y_test = real_mnist
    assert X_train.shape == (784, 60000) and X_test.shape == (784, 10000)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    for X in (X_train, X_test):
        assert X.dtype == np.float64 and X.flags.c_contiguous
        assert X.min() == 0.01 and X.max() == 1.0
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842,
                                             5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    # The mean pixel of the training images is 33.318 (out of 255).
    assert abs((X_train.mean() - 0.01) * 255 / 0.99 - 33.318) < 1e-3
    # The first five training images are 5, 0, 4, 1, 9 (the chapter shows them).
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]


def test_real_mnist_float32(mnist_dir, real_mnist):
    X_train, y_train, X_test, _ = load_mnist(mnist_dir, dtype=np.float32)
    assert X_train.dtype == np.float32 and X_train.flags.c_contiguous
    assert_array_equal(X_test, real_mnist[2].astype(np.float32))
    assert_array_equal(y_train, real_mnist[1])


# ----------------------------------------------------------------------------------------
# one_hot / from_one_hot


@given(st.lists(st.integers(0, 11), max_size=50), st.integers(0, 3))
def test_one_hot_round_trip(labels, extra_classes):
    y = np.array(labels, dtype=np.int64)
    C = (int(y.max()) + 1 if y.size else 1) + extra_classes
    Y = one_hot(y, C)
    assert Y.shape == (C, len(labels)) and Y.dtype == np.float64
    assert_array_equal(Y.sum(axis=0), np.ones(len(labels)))
    assert_array_equal(from_one_hot(Y), y)
    assert from_one_hot(Y).dtype == np.int64
    if y.size:
        assert_array_equal(one_hot(y), Y[: y.max() + 1])


def test_one_hot_values_and_label_dtypes():
    expected = np.array([[0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 1, 0]], dtype=np.float64)
    for y in ([2, 0, 2, 1], np.array([2, 0, 2, 1], np.uint8), np.array([2., 0., 2., 1.])):
        assert_array_equal(one_hot(y), expected)
    assert_array_equal(one_hot([], C=4), np.zeros((4, 0)))
    assert_array_equal(from_one_hot(expected.astype(bool)), [2, 0, 2, 1])
    assert_array_equal(from_one_hot(expected.astype(np.int8)), [2, 0, 2, 1])


@pytest.mark.parametrize("y, C, exc, fragment", [
    (np.array([[0, 1, 2]]), None, ValueError, "y.ravel()"),
    (np.array([[0], [1]]), None, ValueError, "shape (2, 1)"),
    (np.array(3), None, ValueError, "1-D"),
    ([0, -1, 2], None, ValueError, "y[1] is -1"),
    ([0, 3, 2], 3, ValueError, "[0, 3)"),
    ([0, 1.5], None, ValueError, "y[1] is 1.5"),
    ([0, np.nan], None, ValueError, "whole-number"),
    (np.array(["a", "b"]), None, TypeError, "dtype <U1"),
    (np.array([True, False]), None, TypeError, "dtype bool"),
    ([1 + 0j], None, TypeError, "complex"),
    ([], None, ValueError, "pass C"),
    ([0, 1], 0, ValueError, "C must be >= 1"),
    ([0, 1], 2.5, ValueError, "C must be a whole number"),
    ([0, 1], "3", TypeError, "C must be a whole number"),
])
def test_one_hot_errors(y, C, exc, fragment):
    with pytest.raises(exc, match=re.escape(fragment)):
        one_hot(y, C)


@pytest.mark.parametrize("Y, exc, fragment", [
    (np.array([0, 1, 0]), ValueError, "shape (3,)"),
    (np.zeros((0, 3)), ValueError, "shape (0, 3)"),
    (np.array([[1, 1], [1, 0]]), ValueError, "column 0 is [1, 1]"),
    (np.array([[0, 1], [0, 0]]), ValueError, "column 0 is [0, 0]"),
    (np.array([[0.5, 1], [0.5, 0]]), ValueError, "column 0 is [0.5, 0.5]"),
    (np.array([[np.nan], [1]]), ValueError, "column 0"),
    (np.array([["1"], ["0"]]), TypeError, "dtype <U1"),
])
def test_from_one_hot_errors(Y, exc, fragment):
    with pytest.raises(exc, match=re.escape(fragment)):
        from_one_hot(Y)
