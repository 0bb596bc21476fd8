"""Figures of section 6.9 as PNG files: cost curves, decision boundaries, a confusion matrix.

matplotlib is an optional extra (``pip install "nnfast[plot]"``): it is imported only when a
figure is drawn, and every figure is drawn on a standalone ``matplotlib.figure.Figure``
rendered by the Agg backend's canvas, so pyplot's global state (its current backend, its
open figures) is never touched. :func:`available` tells whether figures can be made;
without matplotlib the ``save_*`` functions raise :class:`PlotsUnavailable`.

The grid and the confusion-matrix counts are plain NumPy (:func:`decision_grid`,
:func:`confusion_matrix`) and work without matplotlib.
"""

import importlib.util
from pathlib import Path

import numpy as np

__all__ = ["available", "PlotsUnavailable", "SKIPPED_MESSAGE", "decision_grid",
           "confusion_matrix", "save_costs", "save_decision_boundary",
           "save_decision_boundaries", "save_confusion_matrix"]

#: What the command line prints, once, when figures cannot be drawn.
SKIPPED_MESSAGE = ('figures skipped: matplotlib is not installed '
                   '(pip install "nnfast[plot]" to get them)')


class PlotsUnavailable(ImportError):
    """matplotlib is not installed."""


def available():
    """True when matplotlib can be imported."""
    try:
        return importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):     # a broken or None entry in sys.modules
        return False


def _figure(**kw):
    """A new Figure with an Agg canvas attached (no pyplot)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise PlotsUnavailable(SKIPPED_MESSAGE) from exc
    fig = Figure(**kw)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=fig.dpi)
    return path


# ----------------------------------------------------------------------------------------
# Cost curves


def save_costs(path, costs, *, title="Cost", xlabel="iteration", labels=None, logy=False):
    """Plot one cost curve (or several) against its index and save it as a PNG.

    Parameters
    ----------
    path : str or os.PathLike
    costs : array_like of shape (n,), or a sequence of such arrays
        One value per iteration (full batch) or per epoch (mini-batch).
    labels : sequence of str, optional
        A legend entry per curve, when several are given.
    xlabel : str
        ``"iteration"`` or ``"epoch"``; epochs are numbered from 1.
    logy : bool
        Logarithmic cost axis.

    Returns
    -------
    pathlib.Path
    """
    curves = [np.asarray(costs, dtype=float)] if np.ndim(costs[0]) == 0 else \
        [np.asarray(c, dtype=float) for c in costs]
    fig = _figure(figsize=(6.4, 4.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    start = 1 if xlabel == "epoch" else 0
    for i, c in enumerate(curves):
        label = labels[i] if labels is not None else None
        marker = "o" if len(c) <= 30 else None
        ax.plot(np.arange(start, start + len(c)), c, marker=marker, lw=1.2, label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("cost J")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if labels is not None:
        ax.legend()
    return _save(fig, path)


# ----------------------------------------------------------------------------------------
# Decision boundaries (planar_utils.plot_decision_boundary)


def decision_grid(X, h=0.01, pad=1.0):
    """The chapter's grid: step ``h`` over the range of each feature, widened by ``pad``.

    Parameters
    ----------
    X : array_like of shape (2, m)
        The data points, one per column.

    Returns
    -------
    xx, yy : ndarray of shape (ny, nx)
        ``np.meshgrid(np.arange(x_min, x_max, h), np.arange(y_min, y_max, h))`` with
        ``x_min = X[0].min() - pad`` etc., exactly as ``plot_decision_boundary``.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] != 2:
        raise ValueError(f"X must have shape (2, m) for a 2-D decision boundary; got {X.shape}")
    x_min, x_max = X[0].min() - pad, X[0].max() + pad
    y_min, y_max = X[1].min() - pad, X[1].max() + pad
    return np.meshgrid(np.arange(x_min, x_max, h), np.arange(y_min, y_max, h))


def _draw_boundary(ax, predict, X, Y, title, h):
    xx, yy = decision_grid(X, h)
    # The whole grid in one call, in the chapter's layout: one point per column.
    grid = np.vstack([xx.ravel(), yy.ravel()])
    Z = np.asarray(predict(grid)).reshape(xx.shape)
    y = np.asarray(Y).ravel()
    top = max(1, int(Z.max()), int(y.max()))
    # One filled level per class: with matplotlib's default levels, grid cells that straddle
    # the boundary get the colour map's middle (near white), which shows as stray lines
    # where the boundary runs along a grid row.
    # The regions a little lighter than the points, which share their colour map.
    ax.contourf(xx, yy, Z, levels=np.arange(-0.5, top + 1), cmap="Spectral", vmin=0, vmax=top,
                alpha=0.45)
    ax.scatter(X[0], X[1], c=y, cmap="Spectral", vmin=0, vmax=top, s=18, edgecolors="k",
               linewidths=0.4)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if title:
        ax.set_title(title, fontsize=10)


def save_decision_boundary(path, predict, X, Y, *, title=None, h=0.01):
    """The chapter's ``plot_decision_boundary`` saved as a PNG.

    Parameters
    ----------
    predict : callable
        ``predict(points)`` with ``points`` of shape ``(2, N)`` (one grid point per column,
        all N at once) returning N class labels in any shape, e.g.
        ``lambda P: nnfast.compiled.predict(parameters, P)``.
    X : array_like of shape (2, m)
    Y : array_like of shape (1, m)
        The labels, for the colours of the points.
    h : float
        Grid step (the chapter's 0.01).

    Returns
    -------
    pathlib.Path
    """
    fig = _figure(figsize=(6, 5), dpi=100, layout="constrained")
    _draw_boundary(fig.add_subplot(), predict, np.asarray(X), Y, title, h)
    return _save(fig, path)


def save_decision_boundaries(path, panels, *, ncols=2, suptitle=None, h=0.01):
    """Several decision boundaries in one figure, one panel each.

    Parameters
    ----------
    panels : sequence of (predict, X, Y, title)
        As for :func:`save_decision_boundary`.

    Returns
    -------
    pathlib.Path
    """
    n = len(panels)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig = _figure(figsize=(5 * ncols, 4.3 * nrows), dpi=80, layout="constrained")
    for i, (predict, X, Y, title) in enumerate(panels):
        _draw_boundary(fig.add_subplot(nrows, ncols, i + 1), predict, np.asarray(X), Y, title, h)
    if suptitle:
        fig.suptitle(suptitle)
    return _save(fig, path)


# ----------------------------------------------------------------------------------------
# Confusion matrix


def confusion_matrix(y_true, y_pred, n_classes=None):
    """Counts ``C[i, j]`` of examples of true class i predicted as class j.

    Returns
    -------
    ndarray of shape (n_classes, n_classes), int64
    """
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.int64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length; got {y_true.size} and "
                         f"{y_pred.size}")
    if n_classes is None:
        n_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    C = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(C, (y_true, y_pred), 1)
    return C


def save_confusion_matrix(path, C, *, title="Confusion matrix", class_names=None):
    """A confusion matrix as an annotated heat map (rows: true class, columns: predicted).

    The colour shows each cell's share of its row (the fraction of that class), so the
    diagonal is the per-class recall and the errors stand out; the numbers are the counts.

    Returns
    -------
    pathlib.Path
    """
    C = np.asarray(C)
    k = C.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else list(class_names)
    share = C / np.maximum(C.sum(axis=1, keepdims=True), 1)
    fig = _figure(figsize=(7, 6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, label="fraction of the true class")
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    small = 8 if k <= 10 else 6
    for i in range(k):
        for j in range(k):
            if C[i, j]:
                ax.text(j, i, str(C[i, j]), ha="center", va="center", fontsize=small,
                        color="white" if share[i, j] > 0.5 else "black")
    return _save(fig, path)
