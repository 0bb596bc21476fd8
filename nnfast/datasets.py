"""The chapter's data sets (section 6.9): the planar "flower", the extra 2-D sets, MNIST.

Everything comes back in the chapter's layout: ``X`` of shape ``(n_x, m)`` with one example
per column, labels ``Y`` of shape ``(1, m)`` (binary sets) or ``y`` of shape ``(m,)``
(MNIST, see :func:`one_hot` for the ``(C, m)`` matrix a softmax layer trains on). All
returned arrays are C-contiguous.

Randomness: every generator here draws from its own local ``numpy.random.RandomState``, so
the caller's global NumPy random state is never read or changed. The legacy
``RandomState`` (not ``numpy.random.Generator``) is used on purpose: it is the stream the
chapter's ``np.random.seed(...)`` drives, and NumPy keeps it bit-for-bit stable across
versions, so the chapter's data sets are reproduced exactly, not just in distribution.
"""

import gzip
import numbers
import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np

from ._validate import check_count, working_dtype

__all__ = ["load_planar_dataset", "load_extra_datasets", "load_mnist", "one_hot", "from_one_hot",
           "MNIST_ENV_VAR"]


# ----------------------------------------------------------------------------------------
# The planar "flower" (planar_utils.load_planar_dataset)


def load_planar_dataset():
    """The chapter's two-class "flower": 400 points on the 8 petals of r = 4 sin(4 theta).

    Exactly the arrays of ``planar_utils.load_planar_dataset`` (section 6.9.1): the same
    draws in the same order from ``RandomState(1)`` (the chapter calls ``np.random.seed(1)``),
    but from a local generator, so the caller's global random state is left untouched.

    For class ``j`` in (0, 1), 200 points: ``theta = linspace(3.12 j, 3.12 (j+1), 200) +
    0.2 N(0, 1)``, ``r = 4 sin(4 theta) + 0.2 N(0, 1)``, the point ``(r sin theta, r cos theta)``.

    Returns
    -------
    X : ndarray of shape (2, 400), float64
        One point per column; columns 0..199 are class 0, 200..399 class 1.
    Y : ndarray of shape (1, 400), uint8
        The labels 0 (red) / 1 (blue), dtype uint8 as in the chapter.
    """
    rng = np.random.RandomState(1)
    m = 400
    N = m // 2          # points per class
    a = 4               # maximum ray of the flower
    X = np.zeros((m, 2))
    Y = np.zeros((m, 1), dtype=np.uint8)
    for j in range(2):
        ix = slice(N * j, N * (j + 1))
        # Draw order matters for the reproduction: theta's noise, then r's noise, per class.
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + rng.randn(N) * 0.2
        r = a * np.sin(4 * t) + rng.randn(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    return np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)


# ----------------------------------------------------------------------------------------
# The extra 2-D data sets (planar_utils.load_extra_datasets)
#
# The chapter calls scikit-learn's generators. The private functions below are the same
# definitions, drawing the same numbers in the same order from the RandomState they are
# given (scikit-learn 1.x), so that with equal generator states the data are identical.
# They return scikit-learn's layout (n_samples, n_features); load_extra_datasets transposes.

#: Points per extra data set, as in the chapter.
_N_EXTRA = 200

#: The chapter runs load_extra_datasets() (6.9.3) right after its loop over hidden-layer
#: sizes; the last nn_model call of that loop, n_h = 50, leaves NumPy's global generator at
#: np.random.seed(2) followed by the 100 + 50 standard normals of W1 (50, 2) and W2 (1, 50).
#: Starting from that state reproduces the chapter's printed noisy_moons costs to all six
#: digits (tests/test_datasets.py checks it), so it is the default, documented in
#: load_extra_datasets.
_CHAPTER_SEED = 2
_CHAPTER_NORMALS_DRAWN = 50 * 2 + 1 * 50


def _chapter_rng():
    """A RandomState in the state of NumPy's global generator when the chapter ran 6.9.3."""
    rng = np.random.RandomState(_CHAPTER_SEED)
    rng.standard_normal(_CHAPTER_NORMALS_DRAWN)
    return rng


def _shuffle(rng, X, y):
    """Permute the rows of X and y together, as ``sklearn.utils.shuffle`` draws it.

    Parameters
    ----------
    rng : numpy.random.RandomState
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)

    Returns
    -------
    X, y : ndarray, the rows permuted by ``rng.shuffle(arange(n))``.
    """
    idx = np.arange(X.shape[0])
    rng.shuffle(idx)
    return X[idx], y[idx]


def _make_circles(rng, n_samples, *, factor, noise):
    """Two concentric circles (``sklearn.datasets.make_circles``).

    Class 0: ``n_samples // 2`` points at equally spaced angles ``2 pi k / n`` on the unit
    circle; class 1: the other points on the circle of radius ``factor``. The points are
    shuffled, then isotropic Gaussian noise of standard deviation ``noise`` is added to
    every coordinate (``noise=0`` still draws, so the stream matches the noisy version).

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), intp
    """
    n_out = n_samples // 2
    n_in = n_samples - n_out
    # endpoint=False, or the first and the last point of a circle would coincide.
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.vstack([np.append(np.cos(t_out), np.cos(t_in) * factor),
                   np.append(np.sin(t_out), np.sin(t_in) * factor)]).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    X, y = _shuffle(rng, X, y)
    X += rng.normal(scale=noise, size=X.shape)
    return X, y


def _make_moons(rng, n_samples, *, noise):
    """Two interleaving half circles (``sklearn.datasets.make_moons``).

    Class 0: ``n_samples // 2`` points at equally spaced angles in [0, pi] on the upper half
    of the unit circle, ``(cos t, sin t)``; class 1: the lower half of the unit circle
    centred at (1, 0.5), ``(1 - cos t, 1 - sin t - 0.5)``. Shuffled, then Gaussian noise of
    standard deviation ``noise`` on every coordinate.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), intp
    """
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    # "1 - sin - 0.5" rather than "0.5 - sin": the same rounding as scikit-learn.
    X = np.vstack([np.append(np.cos(t_out), 1 - np.cos(t_in)),
                   np.append(np.sin(t_out), 1 - np.sin(t_in) - 0.5)]).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    X, y = _shuffle(rng, X, y)
    X += rng.normal(scale=noise, size=X.shape)
    return X, y


def _make_blobs(rng, n_samples, *, centers, n_features=2, cluster_std=1.0,
                center_box=(-10.0, 10.0)):
    """Isotropic Gaussian blobs (``sklearn.datasets.make_blobs`` with an integer ``centers``).

    The ``centers`` centres are drawn uniformly in the box ``center_box`` per coordinate;
    blob ``i`` gets ``n_samples // centers`` points (the first ``n_samples % centers`` blobs
    one more) drawn from ``N(centre_i, cluster_std**2 I)`` and label ``i``; then shuffled.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,), intp
        The blob index 0..centers-1.
    centres : ndarray of shape (centers, n_features), float64
    """
    centres = rng.uniform(center_box[0], center_box[1], size=(centers, n_features))
    counts = [n_samples // centers] * centers
    for i in range(n_samples % centers):
        counts[i] += 1
    X = np.empty((n_samples, n_features))
    y = np.empty(n_samples, dtype=np.intp)
    start = 0
    for i, n in enumerate(counts):
        X[start:start + n] = rng.normal(loc=centres[i], scale=cluster_std, size=(n, n_features))
        y[start:start + n] = i
        start += n
    X, y = _shuffle(rng, X, y)
    return X, y, centres


def _make_gaussian_quantiles(rng, n_samples, *, cov, n_features=2, n_classes=2):
    """Classes as nested shells of one Gaussian (``sklearn.datasets.make_gaussian_quantiles``).

    ``n_samples`` points from ``N(0, cov I)`` are sorted by their squared distance
    ``||x||^2`` from the mean (``||x||^2 / cov`` is chi-square with ``n_features`` degrees of
    freedom) and cut into ``n_classes`` groups of ``n_samples // n_classes`` points, the
    remainder joining the last class, so class 0 is the innermost. With two classes the cut
    is the sample median of ``||x||^2``, whose population value is ``cov`` times the
    chi-square median (``2 ln 2`` for two features). Then shuffled.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,), int64
    """
    mean = np.zeros(n_features)
    X = rng.multivariate_normal(mean, cov * np.identity(n_features), (n_samples,))
    X = X[np.argsort(np.sum((X - mean) ** 2, axis=1))]
    step = n_samples // n_classes
    y = np.hstack([np.repeat(np.arange(n_classes), step),
                   np.repeat(n_classes - 1, n_samples - step * n_classes)])
    X, y = _shuffle(rng, X, y)
    return X, y


def _make_no_structure(rng, n_samples):
    """Uniform points in the unit square with labels independent of them.

    The chapter's ``np.random.rand(N, 2), np.random.rand(N, 2)`` gives an (N, 2) float
    array as "labels" (a bug: ``Y.reshape(1, N)`` then fails). The same two draws are made
    here; the label of point ``i`` is 1 when ``U[i, 0] >= 0.5`` for the second draw ``U``,
    i.e. a fair coin independent of the point.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64, in [0, 1)
    y : ndarray of shape (n_samples,), intp, 0/1
    """
    X = rng.rand(n_samples, 2)
    U = rng.rand(n_samples, 2)
    return X, (U[:, 0] >= 0.5).astype(np.intp)


def _check_seed(seed):
    """``seed`` as an int accepted by ``RandomState`` (0 <= seed < 2**32), or None."""
    if seed is None:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be None or an integer in [0, 2**32); got {seed!r} "
                        f"({type(seed).__name__})")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be None or an integer in [0, 2**32); got {seed}")
    return int(seed)


def _chapter_layout(X, y):
    """scikit-learn's (n, 2) / (n,) to the chapter's ``X.T, Y.reshape(1, m)``, C-contiguous."""
    return np.ascontiguousarray(X.T), np.ascontiguousarray(y.reshape(1, -1), dtype=np.int64)


def load_extra_datasets(seed=None):
    """The five extra 2-D data sets of section 6.9.3, 200 points each, in the chapter's layout.

    Same definitions and draw order as the chapter's ``planar_utils.load_extra_datasets``
    (scikit-learn generators, see ``_make_*`` here for each definition), without needing
    scikit-learn:

    ``noisy_circles``
        ``make_circles(n_samples=200, factor=.5, noise=.3)``: class 0 on the unit circle,
        class 1 on the circle of radius 0.5, 100 each, plus N(0, 0.3^2) noise per coordinate.
    ``noisy_moons``
        ``make_moons(n_samples=200, noise=.2)``: class 0 the upper unit half circle, class 1
        the lower half circle centred at (1, 0.5), 100 each, plus N(0, 0.2^2) noise.
    ``blobs``
        ``make_blobs(n_samples=200, random_state=5, n_features=2, centers=6)``: 6 centres
        uniform in the box (-10, 10)^2, blobs of 34, 34, 33, 33, 33, 33 points with standard
        deviation 1.0; made binary with ``Y % 2`` as the chapter does. The chapter fixes
        ``random_state=5`` for this one, so **blobs are the same for every seed**.
    ``gaussian_quantiles``
        ``make_gaussian_quantiles(mean=None, cov=0.5, n_samples=200, n_features=2,
        n_classes=2)``: points from N(0, 0.5 I); the 100 nearest the origin are class 0, the
        100 farthest class 1 (a cut at the median of the chi-square distance ``||x||^2``).
    ``no_structure``
        200 points uniform in [0, 1)^2 with labels from a second, independent uniform draw
        thresholded at 0.5. The chapter's "labels" here are a (200, 2) float array (a bug);
        see ``_make_no_structure``.

    Parameters
    ----------
    seed : int in [0, 2**32) or None, optional
        With an integer the data are those of the chapter's code after
        ``np.random.seed(seed)``: one ``RandomState(seed)`` drawn in the chapter's order
        (circles, moons, gaussian_quantiles, no_structure; blobs use their own
        ``RandomState(5)``). With ``None`` (the default) the generator starts in the state
        the chapter's global generator had when it ran this function (after its
        hidden-layer-size loop: ``np.random.seed(2)`` then 150 standard normals), so the
        default data are exactly the chapter's. Either way the result is reproducible and
        the caller's global random state is not touched.

    Returns
    -------
    dict of str to (X, Y)
        Keys ``noisy_circles``, ``noisy_moons``, ``blobs``, ``gaussian_quantiles``,
        ``no_structure`` (in the chapter's order); ``X`` of shape (2, 200), float64, and
        ``Y`` of shape (1, 200), int64 labels 0/1.
    """
    seed = _check_seed(seed)
    rng = _chapter_rng() if seed is None else np.random.RandomState(seed)
    N = _N_EXTRA
    circles = _make_circles(rng, N, factor=0.5, noise=0.3)
    moons = _make_moons(rng, N, noise=0.2)
    X_blobs, y_blobs, _ = _make_blobs(np.random.RandomState(5), N, centers=6)
    quantiles = _make_gaussian_quantiles(rng, N, cov=0.5)
    no_structure = _make_no_structure(rng, N)
    return {
        "noisy_circles": _chapter_layout(*circles),
        "noisy_moons": _chapter_layout(*moons),
        "blobs": _chapter_layout(X_blobs, y_blobs % 2),
        "gaussian_quantiles": _chapter_layout(*quantiles),
        "no_structure": _chapter_layout(*no_structure),
    }


# ----------------------------------------------------------------------------------------
# MNIST (section 6.9.4)

#: Environment variable naming the folder with the MNIST files.
MNIST_ENV_VAR = "NNFAST_MNIST_DIR"

_ROWS = _COLS = 28
_PIXELS = _ROWS * _COLS
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049
_GZIP_MAGIC = b"\x1f\x8b"

#: The four original IDX files: (train/test, images/labels) -> canonical base name.
_IDX_NAMES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
_CSV_NAMES = {"train": "mnist_train.csv", "test": "mnist_test.csv"}

_MNIST_SOURCE = (
    "Get the four IDX files from the original MNIST distribution by Yann LeCun, Corinna Cortes "
    "and Christopher J.C. Burges (http://yann.lecun.com/exdb/mnist/, or a mirror of it such as "
    "https://ossci-datasets.s3.amazonaws.com/mnist/), put them in one folder and pass "
    f"load_mnist(path=<folder>) or set the environment variable {MNIST_ENV_VAR}=<folder>."
)


def _idx_spellings(base):
    """File names accepted for one IDX file: gzip or raw, '-idx' or '.idx' spelling."""
    dotted = base.replace("-idx", ".idx")
    return (base + ".gz", base, dotted + ".gz", dotted)


def _not_found(folder, origin, missing_idx, missing_csv):
    """The FileNotFoundError for a folder without a complete set of MNIST files."""
    lines = [f"MNIST files not found in {folder} (from {origin}). Looked for either"]
    lines.append("  the four original IDX files (each gzip-compressed .gz or raw; "
                 "'train-images.idx3-ubyte' spelling also accepted):")
    for key, base in _IDX_NAMES.items():
        status = "MISSING" if key in missing_idx else "found"
        lines.append(f"    {base}[.gz]  ({status})")
    lines.append("  or the chapter's CSV files (one line per image: the label, then 784 pixels):")
    for name in _CSV_NAMES.values():
        lines.append(f"    {name}  ({'MISSING' if name in missing_csv else 'found'})")
    lines.append(_MNIST_SOURCE)
    return FileNotFoundError("\n".join(lines))


def _mnist_folder(path):
    """The folder to read MNIST from, and a phrase saying where it came from."""
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a folder name (str or os.PathLike) or None; "
                            f"got {type(path).__name__}")
        folder, origin = Path(path), "the path argument"
    elif os.environ.get(MNIST_ENV_VAR):
        folder = Path(os.environ[MNIST_ENV_VAR])
        origin = f"the environment variable {MNIST_ENV_VAR}"
    else:
        raise FileNotFoundError(
            f"No MNIST folder given: load_mnist(path=None) and the environment variable "
            f"{MNIST_ENV_VAR} is not set. The folder must hold the four IDX files "
            f"{', '.join(b + '[.gz]' for b in _IDX_NAMES.values())} or the chapter's CSV files "
            f"{' and '.join(_CSV_NAMES.values())}. " + _MNIST_SOURCE
        )
    if not folder.is_dir():
        raise FileNotFoundError(f"MNIST folder {folder} (from {origin}) is not an existing "
                                f"directory. " + _MNIST_SOURCE)
    return folder, origin


def _read_idx(file, kind):
    """The uint8 payload of one IDX file, checked against its header.

    Parameters
    ----------
    file : Path
        Gzip-compressed or raw (told apart by the gzip magic bytes, not the name).
    kind : {"images", "labels"}

    Returns
    -------
    ndarray of shape (count, 784) for images or (count,) for labels, uint8
        A read-only view of the file's bytes (no copy).
    """
    data = file.read_bytes()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{file}: corrupt or truncated gzip data ({exc})") from exc
    images = kind == "images"
    magic_expected = _IMAGES_MAGIC if images else _LABELS_MAGIC
    header = 16 if images else 8
    if len(data) < header:
        raise ValueError(f"{file}: truncated: {len(data)} bytes, shorter than the {header}-byte "
                         f"header of an IDX {kind} file")
    magic, count = struct.unpack_from(">II", data, 0)
    if magic != magic_expected:
        other = {_IMAGES_MAGIC: " (that of an IDX images file)",
                 _LABELS_MAGIC: " (that of an IDX labels file)"}.get(magic, "")
        raise ValueError(f"{file}: wrong magic number: expected {magic_expected} for an IDX "
                         f"{kind} file, found {magic}{other}")
    item = 1
    if images:
        rows, cols = struct.unpack_from(">II", data, 8)
        if (rows, cols) != (_ROWS, _COLS):
            raise ValueError(f"{file}: images must be {_ROWS}x{_COLS} pixels; the header says "
                             f"{rows}x{cols}")
        item = _PIXELS
    expected = header + count * item
    if len(data) < expected:
        raise ValueError(f"{file}: truncated: the header announces {count} {kind} "
                         f"({expected} bytes in all) but the file has {len(data)} bytes")
    if len(data) > expected:
        raise ValueError(f"{file}: {len(data) - expected} unexpected bytes after the {count} "
                         f"{kind} the header announces (expected {expected} bytes in all)")
    payload = np.frombuffer(data, dtype=np.uint8, count=count * item, offset=header)
    if images:
        return payload.reshape(count, _PIXELS)
    if count and payload.max() > 9:
        i = int(np.argmax(payload > 9))
        raise ValueError(f"{file}: labels must be digits 0..9; label {i} is {int(payload[i])}")
    return payload


def _read_csv(file):
    """Labels and pixels of one of the chapter's CSV files, checked.

    Returns
    -------
    pixels : ndarray of shape (m, 784), uint8
    labels : ndarray of shape (m,), uint8
    """
    with warnings.catch_warnings():
        # An empty file only warns; it is reported below as an error.
        warnings.simplefilter("ignore", UserWarning)
        try:
            data = np.loadtxt(file, delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError as exc:
            raise ValueError(f"{file}: not in the chapter's MNIST CSV format (each line: the "
                             f"label, then {_PIXELS} pixel values, {_PIXELS + 1} numbers "
                             f"separated by commas): {exc}") from exc
    if data.shape[0] == 0:
        raise ValueError(f"{file}: holds no data lines")
    if data.shape[1] != _PIXELS + 1:
        raise ValueError(f"{file}: each line must hold {_PIXELS + 1} comma-separated numbers (the "
                         f"label, then {_ROWS}x{_COLS} = {_PIXELS} pixels); found {data.shape[1]}")
    labels, pixels = data[:, 0], data[:, 1:]
    bad = ~np.isin(labels, np.arange(10))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{file}: labels must be digits 0..9; data line {i + 1} has label "
                         f"{labels[i].item()!r}")
    bad = ~((pixels >= 0) & (pixels <= 255) & (pixels == np.floor(pixels)))
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise ValueError(f"{file}: pixels must be whole numbers in 0..255; data line {i + 1}, "
                         f"pixel {j} is {pixels[i, j].item()!r}")
    return pixels.astype(np.uint8), labels.astype(np.uint8)


def _scale_pixels(pixels, dtype):
    """The chapter's ``pixel * 0.99/255 + 0.01`` as a (784, m) C-contiguous ``dtype`` matrix.

    Parameters
    ----------
    pixels : ndarray of shape (m, 784), uint8
    dtype : float32 or float64

    Returns
    -------
    ndarray of shape (784, m), ``dtype``, values in [0.01, 1.0]
        Computed in float64 exactly as the chapter does, then rounded to ``dtype``.
    """
    table = (np.arange(256, dtype=np.float64) * (0.99 / 255) + 0.01).astype(dtype)
    # Transpose while the data are 1 byte per pixel, then one gather through the 256-entry
    # table: about twice as fast as scaling first and transposing the 8-byte result.
    return np.take(table, np.ascontiguousarray(pixels.T))


def load_mnist(path=None, *, dtype=np.float64):
    """The MNIST digits as in section 6.9.4: scaled pixels, one image per column, labels.

    Reads the four original IDX files ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``
    (each gzip-compressed with ``.gz`` or raw; the ``train-images.idx3-ubyte`` spelling is
    accepted too), or else the chapter's ``mnist_train.csv`` and ``mnist_test.csv`` (one
    line per image: the label, then 784 pixel values). When both are present the IDX files
    are used. Everything read is checked; nothing malformed is returned.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The folder holding the files. Default: the folder named by the environment variable
        ``NNFAST_MNIST_DIR``.
    dtype : float32 or float64, keyword-only
        The dtype of the pixel matrices.

    Returns
    -------
    X_train : ndarray of shape (784, 60000), ``dtype``, C-contiguous
        ``pixel * 0.99/255 + 0.01`` (values in [0.01, 1.0]), one image per column, its 28x28
        pixels in row-major order.
    y_train : ndarray of shape (60000,), int64
        The digits 0..9 (see :func:`one_hot`).
    X_test : ndarray of shape (784, 10000), ``dtype``, C-contiguous
    y_test : ndarray of shape (10000,), int64

    The counts are those in the files (60000 and 10000 for the real MNIST).

    Raises
    ------
    FileNotFoundError
        No folder given, or it holds neither complete set of files; the message lists the
        files looked for, the folder, and where to get MNIST.
    ValueError
        A malformed file (truncated or corrupt, wrong magic number, images not 28x28,
        image and label counts differing, labels outside 0..9, CSV lines with other than
        785 numbers or pixels outside 0..255); the message names the file and the fault.
    TypeError, ValueError
        ``path`` of the wrong type, ``dtype`` not float32/float64.
    """
    dt = working_dtype(dtype)
    folder, origin = _mnist_folder(path)

    idx_files = {}
    for key, base in _IDX_NAMES.items():
        found = [folder / name for name in _idx_spellings(base) if (folder / name).is_file()]
        if found:
            idx_files[key] = found[0]
    if len(idx_files) == len(_IDX_NAMES):
        out = []
        for split in ("train", "test"):
            images = _read_idx(idx_files[split, "images"], "images")
            labels = _read_idx(idx_files[split, "labels"], "labels")
            if images.shape[0] != labels.shape[0]:
                raise ValueError(f"{idx_files[split, 'images']} holds {images.shape[0]} images but "
                                 f"{idx_files[split, 'labels']} holds {labels.shape[0]} labels")
            out += [_scale_pixels(images, dt), labels.astype(np.int64)]
        return tuple(out)

    csv_files = {split: folder / name for split, name in _CSV_NAMES.items()}
    missing_csv = [f.name for f in csv_files.values() if not f.is_file()]
    if missing_csv:
        raise _not_found(folder, origin, set(_IDX_NAMES) - set(idx_files), missing_csv)
    out = []
    for split in ("train", "test"):
        pixels, labels = _read_csv(csv_files[split])
        out += [_scale_pixels(pixels, dt), labels.astype(np.int64)]
    return tuple(out)


# ----------------------------------------------------------------------------------------
# One-hot labels (section 6.9.4)


def one_hot(y, C=None):
    """Class labels as the one-hot matrix a softmax output layer trains on.

    Parameters
    ----------
    y : array_like of shape (m,)
        Integer class labels, or integer-valued floats (the chapter's labels come from
        ``np.loadtxt`` as floats), each in ``[0, C)``.
    C : int, optional
        The number of classes. Default: ``max(y) + 1``.

    Returns
    -------
    ndarray of shape (C, m), float64
        ``Y[k, i] = 1.0`` if ``y[i] == k`` else 0.0: one column per example.
    """
    arr = np.asarray(y)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"y must hold integer class labels (an integer or integer-valued float "
                        f"array); got dtype {arr.dtype}")
    if arr.ndim != 1:
        hint = " (use y.ravel())" if arr.ndim == 2 and 1 in arr.shape else ""
        raise ValueError(f"y must be a 1-D array of labels of shape (m,); got shape {arr.shape}"
                         + hint)
    if arr.dtype.kind == "f":
        bad = ~(np.isfinite(arr) & (arr == np.floor(arr)))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"y must hold whole-number class labels; y[{i}] is {arr[i].item()!r}")
    if arr.size and arr.min() < 0:
        i = int(np.argmin(arr))
        raise ValueError(f"y must hold class labels >= 0; y[{i}] is {arr[i].item()!r}")
    if C is None:
        if arr.size == 0:
            raise ValueError("y is empty, so the number of classes cannot be inferred: pass C")
        C = int(arr.max()) + 1
    else:
        C = check_count("C", C, minimum=1)
        if arr.size and arr.max() >= C:
            i = int(np.argmax(arr))
            raise ValueError(f"y must hold class labels in [0, C) = [0, {C}); "
                             f"y[{i}] is {arr[i].item()!r}")
    m = arr.shape[0]
    Y = np.zeros((C, m))
    Y[arr.astype(np.int64), np.arange(m)] = 1.0
    return Y


def from_one_hot(Y):
    """The class labels of a one-hot matrix (the inverse of :func:`one_hot`).

    Parameters
    ----------
    Y : array_like of shape (C, m)
        Each column holds a single 1 and zeros elsewhere (any real or bool dtype).

    Returns
    -------
    ndarray of shape (m,), int64
        ``argmax`` of each column.
    """
    arr = np.asarray(Y)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Y must be a numeric one-hot matrix of shape (C, m); "
                        f"got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"Y must be a 2-D one-hot matrix of shape (C, m) with C >= 1; "
                         f"got shape {arr.shape}")
    ok = ((arr == 0) | (arr == 1)).all(axis=0) & (arr.sum(axis=0) == 1)
    if not ok.all():
        j = int(np.argmin(ok))
        raise ValueError(f"Y must be one-hot: each column a single 1 and zeros elsewhere; column "
                         f"{j} is {arr[:, j].tolist()}")
    return np.argmax(arr, axis=0).astype(np.int64)
