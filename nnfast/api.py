"""The general entry points for L-layer networks: ``train``, ``gradients``, ``predict``,
``predict_proba``, with a backend switch.

Each validates everything once (``_validate``), converts to the working dtype and hands
the prepared arrays to the chosen backend's private functions (``reference._...`` or
``compiled._...``), which share one signature.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from . import compiled, optimizers, reference, schedules
from ._activations import RELU_LIKE, predictions_from_output
from ._dropout import Dropout
from ._monitor import Monitor
from ._schedule import epoch_orders
from ._threads import check_threads, using
from ._validate import (check_activations, check_callback, check_count, check_data, check_flag, check_keep_prob,
                        check_l2, check_layer_dims, check_learning_rate, check_math, check_optimizer_state,
                        check_parameters, check_seed, example_weights, parameter_pairs, prepare, working_dtype)

_BACKENDS = {"compiled": compiled, "reference": reference}


@dataclass(frozen=True)
class TrainResult:
    """What ``train`` returns and ``load`` reads back.

    Attributes
    ----------
    parameters : dict of ndarray
        ``W1..WL`` of shape ``(n[l], n[l-1])`` and ``b1..bL`` of shape ``(n[l], 1)``.
    costs : ndarray of shape (n_records,)
        One cost per iteration (full batch) or per epoch (mini-batch); see ``train``.
    layer_dims : tuple of int
        ``(n_x, n_1, ..., n_L)``.
    activations : tuple of str
        One activation name per layer.
    backend : str
        The backend that trained it.
    extra : dict
        Run settings (learning rate, batch size, epochs, seed, dtype, optimizer, l2).
    optimizer_state : dict or None
        Where the run stands: ``{"step": t, "epoch": e}`` (updates and epochs so far)
        plus, for optimizers with state, one
        dict like ``parameters`` per buffer (``"v"``; ``"s"``; ``"m"`` and ``"v"``). Pass it
        back as ``train(..., optimizer_state=...)`` to continue the run.
    history : dict of ndarray or None
        Per epoch (per check, every 1% of the iterations, in full batch with a validation
        set or ``patience``): ``epoch`` (epochs done), ``cost``, ``learning_rate`` and,
        with a validation set, ``val_cost`` and ``val_accuracy``.
    """

    parameters: dict
    costs: np.ndarray
    layer_dims: tuple
    activations: tuple
    backend: str = "compiled"
    extra: dict = field(default_factory=dict)
    optimizer_state: dict = None
    history: dict = None

    def predict(self, X, threads=None):
        """``predict(self.parameters, X, self.activations, threads=threads)``."""
        return predict(self.parameters, X, self.activations, threads=threads)

    def predict_proba(self, X, threads=None):
        """``predict_proba(self.parameters, X, self.activations, threads=threads)``."""
        return predict_proba(self.parameters, X, self.activations, threads=threads)


def _backend(backend):
    if not isinstance(backend, str) or backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, _BACKENDS))}; got {backend!r}")
    return _BACKENDS[backend]


def init_parameters(layer_dims, activations, seed=None, dtype=np.float64):
    """Random initial weights scaled by fan-in, zero biases.

    ``W[l] = randn(n[l], n[l-1]) · sqrt(s / n[l-1])`` with s = 2 when layer l is
    relu/leaky_relu (He et al.) and s = 1 otherwise (LeCun/Xavier-style for tanh, sigmoid
    and the rest), so activations neither vanish nor explode with depth. ``b[l] = 0``.
    Drawn from ``np.random.default_rng(seed)`` (``seed=None``: fresh entropy).

    Returns
    -------
    dict
        ``W1..WL`` ``(n[l], n[l-1])`` and ``b1..bL`` ``(n[l], 1)`` in ``dtype``.
    """
    dims = check_layer_dims(layer_dims)
    names = check_activations(activations, len(dims) - 1)
    dt = working_dtype(dtype)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(check_seed(seed))
    parameters = {}
    for l in range(1, len(dims)):
        gain = 2.0 if names[l - 1] in RELU_LIKE else 1.0
        W = rng.standard_normal((dims[l], dims[l - 1])) * np.sqrt(gain / dims[l - 1])
        parameters[f"W{l}"] = W.astype(dt)
        parameters[f"b{l}"] = np.zeros((dims[l], 1), dt)
    return parameters


def train(X, Y, layer_dims, activations, *, learning_rate, num_iterations=None, epochs=None,
          batch_size=None, shuffle=True, parameters=None, seed=None, backend="compiled", dtype=None,
          callback=None, math=None, threads=None, optimizer="sgd", l2=0.0, schedule=None, clip_norm=None,
          optimizer_state=None, validation=None, validation_fraction=None, patience=None, min_delta=0.0,
          sample_weight=None, class_weight=None, keep_prob=None):
    """Train an L-layer network by gradient descent or one of ``nnfast.optimizers``.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
        One example per column. Data held with one example per row, ``X_rows`` of shape
        ``(m, n_x)`` C-contiguous (scikit-learn's, pandas' and the MNIST files' layout),
        is passed as ``X_rows.T``: the kernels read it in place, with no copy.
    Y : array_like of shape (n_y, m)
        0/1 labels (sigmoid output), one-hot columns (softmax output) or targets (identity).
    layer_dims : sequence of int
        ``[n_x, n_1, ..., n_L]``, the input size first.
    activations : sequence of str
        One per layer (``len(layer_dims) - 1``). Hidden layers: any elementwise activation
        of ``nnfast.ACTIVATIONS``. Output layer and cost go together so that
        ``dZ[L] = A[L] - Y``: ``sigmoid`` + binary cross-entropy, ``softmax`` + categorical
        cross-entropy, ``identity`` + ``(1/2m)·Σ(A−Y)²``.
    learning_rate : float
        alpha > 0.
    num_iterations : int
        Full-batch gradient descent steps (the chapter's algorithm). Used when
        ``batch_size`` is None.
    epochs : int
        Passes over the data for mini-batch training (when ``batch_size`` is given).
    batch_size : int, optional
        None: full batch. Otherwise mini-batches of this many examples (the last batch of
        an epoch holds the remainder).
    shuffle : bool
        Mini-batch only: visit the examples in a new random order each epoch, drawn with
        NumPy from ``seed`` before training starts (the kernels draw no random numbers).
    parameters : dict, optional
        Initial ``W1..WL``, ``b1..bL`` (copied, never modified). Default:
        ``init_parameters(layer_dims, activations, seed)``.
    seed : int, optional
        Seeds the initialisation and the shuffles (independent streams of one
        ``SeedSequence``). None: fresh entropy, not reproducible.
    backend : {"compiled", "reference"}
    dtype : {None, float32, float64}
        Working precision; default float32 if X is float32, else float64.
    math : {None, "fast", "libm"}
        Compiled backend: how exp/tanh/log are evaluated — "fast" (vectorised, <= 2 ulp,
        the default unless ``NNFAST_MATH`` says otherwise) or "libm" (scalar libm calls).
        The reference backend always uses NumPy's functions.
    threads : int, optional
        Compiled backend: the most threads the run uses (>= 1). None: ``NNFAST_NUM_THREADS``
        if set, else this process's CPUs, capped by the limits joblib and Dask set in
        their workers (``OMP_NUM_THREADS``, ``NUMBA_NUM_THREADS``, ...; see
        ``nnfast._threads``). Small batches run on one thread whatever the count. The
        result depends on the count (the order of a sum), the same on every run for one.
    optimizer : str or nnfast.optimizers instance
        ``"sgd"`` (the default: the chapter's rule), ``"momentum"``, ``"nesterov"``,
        ``"rmsprop"``, ``"adam"``, ``"adamw"`` with torch.optim's defaults, or an instance
        such as ``nnfast.optimizers.Adam(beta1=0.8)``. The rules are PyTorch's (see
        ``nnfast.optimizers``); every update runs inside the kernels.
    l2 : float
        λ >= 0: the cost gains (λ/2m)·Σ‖W[l]‖² over the weights (not the biases), the
        gradients (λ/m)·W[l], with m the batch's size (the course's and scikit-learn's
        ``alpha`` convention). The recorded costs include it.
    schedule : str or nnfast.schedules instance, optional
        The learning rate per epoch (per iteration in full batch): ``"constant"`` (the
        default), ``"step"``, ``"exponential"``, ``"invscaling"``, ``"cosine"``, or an
        instance such as ``nnfast.schedules.StepDecay(step_size=5, gamma=0.5)``; see
        ``nnfast.schedules``.
    clip_norm : float, optional
        Scale each batch's gradient (with its L2 term) down to this Euclidean norm when it
        is longer (torch's ``clip_grad_norm_``). None: no clipping.
    optimizer_state : dict, optional
        A ``TrainResult.optimizer_state`` of the same optimizer and layer sizes to
        continue from (with ``parameters=`` that result's parameters): the optimizer's
        buffers, its step count and the schedule's epoch carry on as in one uninterrupted
        run (a cosine schedule needs its ``t_max`` for that).
    validation : (X_val, Y_val), optional
        A validation set in the layout of X and Y (``X_val_rows.T`` works too): its cost
        and accuracy are recorded in ``history`` after every epoch.
    validation_fraction : float, optional
        Instead of ``validation``: hold out this fraction (0 < f < 1) of the examples,
        drawn from ``seed``, and train on the rest (no copy of X is made for the training
        part).
    patience : int, optional
        Early stopping: stop once the validation cost (the training cost without a
        validation set) has not fallen by more than ``min_delta`` for this many epochs
        in a row, and return the parameters of the best epoch (``optimizer_state`` is
        that of the last one).
    min_delta : float
        The smallest fall of the monitored cost that counts as an improvement (>= 0).
    sample_weight : array_like of shape (m,), optional
        Each example's weight (finite, > 0): a batch's cost and gradient are the weighted
        means Σ w_i L_i / Σ w_i over its examples (scikit-learn's semantics); the L2
        penalty stays (λ/2m)·Σ‖W‖².
    class_weight : "balanced" or dict, optional
        Weights per class (the labelled row of a softmax Y, the 0/1 of one sigmoid unit),
        multiplied into ``sample_weight``: ``{class: weight}``, or ``"balanced"``, m /
        (n_classes · the class's count), scikit-learn's rule.
    keep_prob : float or sequence of float, optional
        Inverted dropout (the course's ``keep_prob``): during training each hidden layer
        keeps each unit with probability p (one p for every hidden layer, or one per
        hidden layer; 1.0: none) and scales the kept ones by 1/p; prediction and the
        validation passes use the whole network. The masks are drawn from ``seed`` by a
        counter-based generator keyed by (epoch, layer, example, unit), the same in both
        backends and for any ``threads`` (see ``nnfast._dropout``); the recorded costs
        are those of the dropped forward passes.
    callback : callable, optional
        ``callback(done, total, cost)`` is called from Python between kernel calls: after
        every epoch for mini-batch runs, after every 1% of the iterations for full batch
        (``done`` epochs/iterations so far, ``cost`` the latest recorded cost). For
        progress bars; without it the whole run is one kernel call.

    Returns
    -------
    TrainResult
        ``.parameters`` (the chapter's shapes, in ``dtype``) and ``.costs``: one per
        iteration for full batch — the cost of that iteration's forward pass, before its
        update; one per epoch for mini-batch — the mean of the epoch's batch costs, each
        taken before that batch's update.
    """
    module = _backend(backend)
    check_math(math)
    threads = check_threads(threads)
    seed = check_seed(seed)
    shuffle = check_flag("shuffle", shuffle)
    callback = check_callback(callback)
    dims = check_layer_dims(layer_dims)
    names = check_activations(activations, len(dims) - 1)
    lr = check_learning_rate(learning_rate)
    dt = working_dtype(dtype, X)
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    init_seq, shuffle_seq, split_seq, dropout_seq = root.spawn(4)
    if parameters is not None:
        check_parameters(parameters, dims)
    # X and Y are checked against layer_dims before the initial weights are drawn, so a
    # mistaken layer size is a ValueError, not an allocation of n[l] x n[l-1] floats.
    X, Y = check_data(X, Y, dims, names, dt, f"layer_dims[0] = {dims[0]}", rows_ok=True)
    if parameters is None:
        parameters = init_parameters(dims, names, np.random.default_rng(init_seq), dt)
    params = parameter_pairs(parameters, dims, dt)
    m = X.shape[1]
    val, train_idx = _validation_split(X, Y, validation, validation_fraction, dims, names, dt, split_seq)
    m_train = m if train_idx is None else train_idx.size
    patience = None if patience is None else check_count("patience", patience, minimum=1)
    min_delta = check_l2(min_delta, "min_delta")
    if batch_size is None:
        if num_iterations is None:
            raise TypeError("train() needs num_iterations for full-batch training "
                            "(or batch_size and epochs for mini-batches)")
        if epochs is not None:
            raise ValueError("epochs is for mini-batch training: give batch_size too, or use "
                             "num_iterations for full batch")
        n_epochs, batch, orders = check_count("num_iterations", num_iterations), m_train, np.arange(m_train)[None, :]
    else:
        if epochs is None:
            raise TypeError("train() needs epochs when batch_size is given")
        if num_iterations is not None:
            raise ValueError("num_iterations is for full-batch training; with batch_size give epochs")
        n_epochs = check_count("epochs", epochs)
        batch = min(check_count("batch_size", batch_size, minimum=1), m_train)
        orders = epoch_orders(m_train, n_epochs, shuffle, np.random.default_rng(shuffle_seq))
    if train_idx is not None:
        orders = train_idx[orders]
    opt = optimizers.get(optimizer)
    l2 = check_l2(l2)
    clip = 0.0 if clip_norm is None else check_learning_rate(clip_norm, "clip_norm")
    if optimizer_state is not None:
        optimizer_state = check_optimizer_state(optimizer_state, opt, dims, dt)
    weights = example_weights(sample_weight, class_weight, Y, names[-1], dt)
    keep = check_keep_prob(keep_prob, len(dims) - 1)
    # The caller's parameters must come out untouched even if a backend updated in place.
    params = [(W.copy(), b.copy()) for W, b in params]
    sched = schedules.get(schedule)
    first_epoch = 0 if optimizer_state is None else optimizer_state["epoch"]
    rates = schedules.rates(sched, lr, first_epoch, n_epochs)
    dropout = None if keep is None else Dropout(keep, int(dropout_seq.generate_state(1, np.uint64)[0]), first_epoch)
    monitor = None
    if callback is not None or val is not None or patience is not None:
        def forward(X_val, parameters):
            return module._forward_output(X_val, parameter_pairs(parameters, dims, dt), names, math)
        monitor = Monitor(rates, names[-1], forward, val, patience, min_delta, callback)
    with using(threads):
        trained, costs, state = module._gradient_descent(X, Y, params, names, rates, orders, batch, n_epochs,
                                                         monitor, math, opt, l2, optimizer_state, clip, weights,
                                                         dropout)
    if monitor is not None:
        history = monitor.result()
        if patience is not None and monitor.best_parameters is not None:
            trained = monitor.best_parameters
    else:
        history = {"epoch": np.arange(1, n_epochs + 1), "cost": costs, "learning_rate": rates}
    state = {"step": state["step"], "epoch": first_epoch + costs.size,
             **{name: state[name] for name in opt.buffers}}
    bad = np.flatnonzero(~np.isfinite(costs))
    if bad.size:
        warnings.warn(f"training diverged: the cost is {costs[bad[0]]} at {'iteration' if batch_size is None else 'epoch'} "
                      f"{bad[0]}; try a smaller learning_rate", RuntimeWarning, stacklevel=2)
    extra = {"learning_rate": lr, "num_iterations": num_iterations, "epochs": epochs,
             "batch_size": batch_size, "shuffle": shuffle, "seed": seed, "dtype": dt.name,
             "optimizer": opt.name, "l2": l2, "schedule": sched.name, "clip_norm": clip_norm,
             "validation_fraction": validation_fraction, "patience": patience, "min_delta": min_delta,
             "weighted": weights is not None, "keep_prob": None if keep is None else list(keep[:-1])}
    return TrainResult(trained, costs, dims, names, backend, extra, state, history)


def _validation_split(X, Y, validation, fraction, dims, names, dtype, seed_seq):
    """``(validation, train_idx)``: the validation arrays ``(X_val, Y_val)`` or None, and the
    sorted indices of the training examples when a fraction of X is held out (else None)."""
    if validation is not None and fraction is not None:
        raise ValueError("give validation=(X_val, Y_val) or validation_fraction, not both")
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise TypeError(f"validation must be a pair (X_val, Y_val); got {type(validation).__name__}"
                            f"{f' of length {len(validation)}' if isinstance(validation, (tuple, list)) else ''}")
        X_val, Y_val = check_data(validation[0], validation[1], dims, names, dtype,
                                  f"layer_dims[0] = {dims[0]}", rows_ok=True, labels=("validation[0]", "validation[1]"))
        return (X_val, Y_val), None
    if fraction is None:
        return None, None
    if isinstance(fraction, (bool, np.bool_)) or not isinstance(fraction, (int, float, np.integer, np.floating)):
        raise TypeError(f"validation_fraction must be a number in (0, 1); got {type(fraction).__name__}")
    m = X.shape[1]
    n_val = int(round(float(fraction) * m)) if np.isfinite(fraction) else 0
    if not 0 < fraction < 1 or not 1 <= n_val < m:
        raise ValueError(f"validation_fraction must be in (0, 1) and leave at least one example on each side "
                         f"of the split of {m}; got {fraction!r} ({n_val} examples)")
    permutation = np.random.default_rng(seed_seq).permutation(m)
    val_idx, train_idx = np.sort(permutation[:n_val]), np.sort(permutation[n_val:])
    return (X[:, val_idx], Y[:, val_idx]), train_idx.astype(np.int64)


def gradients(X, Y, parameters, activations, backend="compiled", math=None, threads=None):
    """The cost and its gradient at ``parameters``, by backpropagation. ``math`` and
    ``threads`` as in ``train``.

    Returns
    -------
    cost : float
        J over the m examples (computed from the logits; see ``train``).
    grads : dict
        ``dW1, db1, ..., dWL, dbL`` with the shapes of ``W1, b1, ...``.
    """
    module = _backend(backend)
    check_math(math)
    threads = check_threads(threads)
    if Y is None:
        raise TypeError("gradients() needs the labels Y of shape (n_y, m); got None")
    X, Y, params, names, _, _ = prepare(X, Y, parameters, activations, rows_ok=True)
    with using(threads):
        return module._gradients(X, Y, params, names, math)


def predict_proba(parameters, X, activations, backend="compiled", math=None, threads=None):
    """The output layer ``A[L]`` of shape ``(n[L], m)``: probabilities for sigmoid/softmax
    outputs, the prediction itself for identity. ``math`` and ``threads`` as in ``train``."""
    return _output(parameters, X, activations, backend, math, threads)[0]


def predict(parameters, X, activations, backend="compiled", math=None, threads=None):
    """Predictions: 0/1 ``(n[L], m)`` for a sigmoid output (A > 0.5), the class index
    ``(m,)`` for softmax, ``A[L]`` for identity. ``math`` and ``threads`` as in ``train``."""
    output, names = _output(parameters, X, activations, backend, math, threads)
    return predictions_from_output(output, names[-1])


def _output(parameters, X, activations, backend, math, threads):
    """``(A[L], activation names)`` of a forward pass, after every check."""
    module = _backend(backend)
    check_math(math)
    threads = check_threads(threads)
    X, _, params, names, _, _ = prepare(X, None, parameters, activations, rows_ok=True)
    with using(threads):
        return module._forward_output(X, params, names, math), names
