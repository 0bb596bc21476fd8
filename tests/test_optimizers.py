"""Optimizers and the L2 penalty: against torch.optim (the outside oracle, where PyTorch is
installed), compiled against reference, resuming a run, and bad input."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import nnfast
from nnfast import optimizers, schedules

from _strategies import assert_trained_close, networks

NAMES = list(optimizers.OPTIMIZERS)


def _problem(seed=0, m=37):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(4, m))
    labels = rng.integers(0, 3, m)
    Y = np.eye(3)[:, labels]
    dims, acts = [4, 6, 3], ("tanh", "softmax")
    return X, Y, labels, dims, acts, nnfast.init_parameters(dims, acts, seed=seed)


def _torch_run(X, labels, params, name, lr, l2, batch, epochs, clip=None):
    """The same training with torch.optim and autograd: the loss is the mean cross-entropy
    plus (λ/2m)·Σ‖W‖² written out, so the penalty's gradient comes from autograd too."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install 'nnfast[peers]')")
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    order = [t["W1"], t["b1"], t["W2"], t["b2"]]
    make = {"sgd": lambda p: torch.optim.SGD(p, lr=lr),
            "momentum": lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9),
            "nesterov": lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
            "rmsprop": lambda p: torch.optim.RMSprop(p, lr=lr),
            "adam": lambda p: torch.optim.Adam(p, lr=lr),
            "adamw": lambda p: torch.optim.AdamW(p, lr=lr)}[name]
    opt = make(order)
    x_all = torch.tensor(X, dtype=torch.float64)
    y_all = torch.tensor(labels)
    m = X.shape[1]
    for _ in range(epochs):
        for first in range(0, m, batch):
            x, y = x_all[:, first:first + batch], y_all[first:first + batch]
            opt.zero_grad()
            z = t["W2"] @ torch.tanh(t["W1"] @ x + t["b1"]) + t["b2"]
            loss = torch.nn.functional.cross_entropy(z.T, y)
            loss = loss + l2 / (2 * x.shape[1]) * (t["W1"].pow(2).sum() + t["W2"].pow(2).sum())
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(order, clip)
            opt.step()
    return {k: v.detach().numpy() for k, v in t.items()}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("l2", [0.0, 0.3])
@pytest.mark.parametrize("backend", ["compiled", "reference"])
def test_matches_torch_optim(name, l2, backend):
    """Three epochs of batches of 10 (the last one 7) from the same weights: the same
    parameters as torch.optim with its defaults, to 1e-10 relative."""
    X, Y, labels, dims, acts, params = _problem()
    lr = 0.05
    expected = _torch_run(X, labels, params, name, lr, l2, batch=10, epochs=3)
    res = nnfast.train(X, Y, dims, acts, learning_rate=lr, epochs=3, batch_size=10, shuffle=False,
                       parameters=params, optimizer=name, l2=l2, backend=backend)
    for key, want in expected.items():
        np.testing.assert_allclose(res.parameters[key], want, rtol=1e-10, atol=1e-12, err_msg=key)
    assert res.optimizer_state["step"] == 3 * 4


@pytest.mark.parametrize("name", ["sgd", "adam"])
@pytest.mark.parametrize("backend", ["compiled", "reference"])
def test_clipping_matches_torch(name, backend):
    """Gradient norms clipped to 0.05 (most batches' are longer here), with L2: the same
    parameters as torch.nn.utils.clip_grad_norm_ before each torch.optim step."""
    X, Y, labels, dims, acts, params = _problem()
    expected = _torch_run(X, labels, params, name, 0.1, 0.2, batch=10, epochs=3, clip=0.05)
    res = nnfast.train(X, Y, dims, acts, learning_rate=0.1, epochs=3, batch_size=10, shuffle=False,
                       parameters=params, optimizer=name, l2=0.2, clip_norm=0.05, backend=backend)
    unclipped = nnfast.train(X, Y, dims, acts, learning_rate=0.1, epochs=3, batch_size=10, shuffle=False,
                             parameters=params, optimizer=name, l2=0.2, backend=backend)
    for key, want in expected.items():
        np.testing.assert_allclose(res.parameters[key], want, rtol=1e-10, atol=1e-12, err_msg=key)
    assert any(not np.allclose(res.parameters[k], unclipped.parameters[k]) for k in expected)


def test_l2_is_in_the_recorded_cost():
    """The first recorded cost (before any update) is the data cost at the initial weights
    plus (λ/2m)·Σ‖W‖², computed here from NumPy directly."""
    X, Y, labels, dims, acts, params = _problem()
    l2 = 0.7
    res = nnfast.train(X, Y, dims, acts, learning_rate=0.1, num_iterations=1, parameters=params, l2=l2)
    z = params["W2"] @ np.tanh(params["W1"] @ X + params["b1"]) + params["b2"]
    z = z - z.max(axis=0)
    log_p = z - np.log(np.exp(z).sum(axis=0))
    data = -np.mean(log_p[labels, np.arange(X.shape[1])])
    penalty = l2 / (2 * X.shape[1]) * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    assert res.costs[0] == pytest.approx(data + penalty, rel=1e-12)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("threads", [1, 2])
@given(net=networks(max_layers=3, max_width=9, max_m=120), batch=st.integers(1, 130),
       l2=st.sampled_from([0.0, 0.05]))
def test_compiled_matches_reference(name, threads, net, batch, l2):
    """Every optimizer, both dtypes, random networks and batch sizes, one and two threads:
    two epochs of the compiled backend against the NumPy twin."""
    X, Y, params, acts, dtype = net
    dims = [X.shape[0]] + [params[f"W{l}"].shape[0] for l in range(1, len(acts) + 1)]
    kw = dict(learning_rate=0.01, epochs=2, batch_size=batch, seed=3, parameters=params, optimizer=name, l2=l2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a diverging run warns; it is excluded below
        ref = nnfast.train(X, Y, dims, acts, backend="reference", **kw)
        res = nnfast.train(X, Y, dims, acts, threads=threads, **kw)
    assume(np.isfinite(ref.costs).all() and max(np.max(np.abs(v)) for v in ref.parameters.values()) < 1e3)
    rtol = 2e-3 if dtype == np.float32 else 1e-8
    np.testing.assert_allclose(res.costs, ref.costs, rtol=rtol, atol=rtol * float(np.max(np.abs(ref.costs))))
    assert_trained_close(res, ref, params, dtype, name)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("backend", ["compiled", "reference"])
@pytest.mark.parametrize("keep_prob", [None, 0.6])
def test_resuming_gives_the_uninterrupted_run(name, backend, keep_prob):
    """Seven epochs in one call, or four and then three from the first call's parameters
    and optimizer state: the same parameters, bit for bit (in order, so both see the same
    batches; with dropout, the same masks: they follow the absolute epoch)."""
    X, Y, labels, dims, acts, params = _problem(seed=1)
    kw = dict(learning_rate=0.05, batch_size=8, shuffle=False, optimizer=name, backend=backend, seed=5,
              keep_prob=keep_prob)
    whole = nnfast.train(X, Y, dims, acts, epochs=7, parameters=params, **kw)
    first = nnfast.train(X, Y, dims, acts, epochs=4, parameters=params, **kw)
    rest = nnfast.train(X, Y, dims, acts, epochs=3, parameters=first.parameters,
                        optimizer_state=first.optimizer_state, **kw)
    for key in whole.parameters:
        np.testing.assert_array_equal(rest.parameters[key], whole.parameters[key], err_msg=key)
    assert rest.optimizer_state["step"] == whole.optimizer_state["step"]
    np.testing.assert_array_equal(np.concatenate([first.costs, rest.costs]), whole.costs)


def test_instances_carry_their_hyperparameters():
    """An instance's settings are used: Adam(beta1=0) is RMSprop-like in its first moment
    (m = g), so it differs from the default Adam; the defaults equal the name."""
    X, Y, labels, dims, acts, params = _problem()
    kw = dict(learning_rate=0.05, num_iterations=5, parameters=params)
    by_name = nnfast.train(X, Y, dims, acts, optimizer="adam", **kw).parameters
    by_default = nnfast.train(X, Y, dims, acts, optimizer=optimizers.Adam(), **kw).parameters
    other = nnfast.train(X, Y, dims, acts, optimizer=optimizers.Adam(beta1=0.0), **kw).parameters
    for key in by_name:
        np.testing.assert_array_equal(by_name[key], by_default[key])
    assert any(not np.array_equal(by_name[k], other[k]) for k in by_name)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"optimizer": "adagrad"}, ValueError, "optimizer must be one of"),
    ({"optimizer": 3}, TypeError, "optimizer must be a name"),
    ({"l2": -0.1}, ValueError, "l2 must be a finite number >= 0"),
    ({"l2": float("nan")}, ValueError, "l2 must be a finite number >= 0"),
    ({"l2": True}, TypeError, "l2 must be a real number"),
    ({"l2": "0.1"}, TypeError, "l2 must be a real number"),
    ({"optimizer": "adam", "optimizer_state": {"step": 1}}, ValueError, "must have the keys"),
    ({"optimizer": "momentum", "optimizer_state": [1]}, TypeError, "optimizer_state must be a dict"),
    ({"optimizer": "momentum", "optimizer_state": {"step": -1, "epoch": 0, "v": {}}}, ValueError, "step"),
    ({"optimizer": "momentum", "optimizer_state": {"step": 1, "epoch": 0, "v": {"W1": np.zeros((6, 4))}}},
     ValueError, "has no 'b1'"),
    ({"schedule": "linear"}, ValueError, "schedule must be one of"),
    ({"clip_norm": 0}, ValueError, "clip_norm must be a finite number > 0"),
    ({"clip_norm": "1"}, TypeError, "clip_norm must be a positive real number"),
    ({"schedule": 0.5}, TypeError, "schedule must be a name"),
])
def test_bad_optimizer_arguments(kwargs, error, match):
    X, Y, labels, dims, acts, params = _problem()
    with pytest.raises(error, match=match):
        nnfast.train(X, Y, dims, acts, learning_rate=0.1, num_iterations=1, parameters=params, **kwargs)


def test_bad_optimizer_state_shapes():
    X, Y, labels, dims, acts, params = _problem()
    good = nnfast.train(X, Y, dims, acts, learning_rate=0.1, num_iterations=1, parameters=params,
                        optimizer="momentum").optimizer_state
    bad = {**good, "v": {**good["v"], "W2": np.zeros((2, 6))}}
    with pytest.raises(ValueError, match=r"optimizer_state\['v'\]\['W2'\] must have shape \(3, 6\)"):
        nnfast.train(X, Y, dims, acts, learning_rate=0.1, num_iterations=1, parameters=params,
                     optimizer="momentum", optimizer_state=bad)
    nan = {**good, "v": {**good["v"], "b1": np.full((6, 1), np.nan)}}
    with pytest.raises(ValueError, match="NaN or infinity"):
        nnfast.train(X, Y, dims, acts, learning_rate=0.1, num_iterations=1, parameters=params,
                     optimizer="momentum", optimizer_state=nan)


@pytest.mark.parametrize("make, error, match", [
    (lambda: optimizers.Adam(beta1=1.0), ValueError, r"beta1 must be in \[0.0, 1.0\)"),
    (lambda: optimizers.Adam(beta2=-0.1), ValueError, "beta2 must be in"),
    (lambda: optimizers.Adam(eps=0), ValueError, "eps must be a finite number > 0"),
    (lambda: optimizers.RMSprop(alpha=float("nan")), ValueError, "alpha must be in"),
    (lambda: optimizers.Momentum(momentum="0.9"), TypeError, "momentum must be a real number"),
    (lambda: optimizers.AdamW(weight_decay=-1), ValueError, "weight_decay must be a finite number >= 0"),
    (lambda: schedules.StepDecay(step_size=0), ValueError, "step_size must be a whole number >= 1"),
    (lambda: schedules.Exponential(gamma=0), ValueError, "gamma must be a finite number > 0"),
    (lambda: schedules.InverseTime(power_t=-1), ValueError, "power_t must be a finite number >= 0"),
    (lambda: schedules.Cosine(t_max=2.5), ValueError, "t_max must be a whole number >= 1"),
])
def test_bad_hyperparameters(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_schedules_follow_their_formulas():
    """Each schedule's rates against its formula, written out here."""
    e = np.arange(12)
    lr = 0.3
    np.testing.assert_allclose(schedules.rates(schedules.Constant(), lr, 0, 12), np.full(12, lr))
    np.testing.assert_allclose(schedules.rates(schedules.StepDecay(4, 0.5), lr, 0, 12),
                               [lr * 0.5 ** (i // 4) for i in e])
    np.testing.assert_allclose(schedules.rates(schedules.Exponential(0.9), lr, 0, 12), [lr * 0.9 ** i for i in e])
    np.testing.assert_allclose(schedules.rates(schedules.InverseTime(0.25), lr, 0, 12), [lr / (i + 1) ** 0.25 for i in e])
    np.testing.assert_allclose(schedules.rates(schedules.Cosine(eta_min=0.01), lr, 0, 12),
                               [0.01 + (lr - 0.01) * (1 + np.cos(np.pi * i / 12)) / 2 for i in e])
    # Resumed at epoch 5: the same rates as the uninterrupted run's epochs 5..11.
    np.testing.assert_allclose(schedules.rates(schedules.StepDecay(4, 0.5), lr, 5, 7),
                               schedules.rates(schedules.StepDecay(4, 0.5), lr, 0, 12)[5:])


@pytest.mark.parametrize("make, torch_make", [
    (lambda: schedules.StepDecay(3, 0.5), lambda torch, o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
    (lambda: schedules.Exponential(0.8), lambda torch, o: torch.optim.lr_scheduler.ExponentialLR(o, 0.8)),
    (lambda: schedules.Cosine(t_max=10, eta_min=0.001),
     lambda torch, o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 10, 0.001)),
])
def test_schedules_match_torch(make, torch_make):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install 'nnfast[peers]')")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.2)
    sched = torch_make(torch, opt)
    expected = []
    for _ in range(10):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose(schedules.rates(make(), 0.2, 0, 10), expected, rtol=1e-12)


@pytest.mark.parametrize("backend", ["compiled", "reference"])
def test_scheduled_runs_agree_and_resume(backend):
    """Adam with a step schedule, mini-batches: both backends give the same parameters, and
    a run resumed from its optimizer state continues the schedule where it stopped."""
    X, Y, labels, dims, acts, params = _problem(seed=2)
    kw = dict(learning_rate=0.05, batch_size=9, shuffle=False, optimizer="adam",
              schedule=schedules.StepDecay(2, 0.5))
    whole = nnfast.train(X, Y, dims, acts, epochs=6, parameters=params, backend=backend, **kw)
    other = nnfast.train(X, Y, dims, acts, epochs=6, parameters=params,
                         backend="reference" if backend == "compiled" else "compiled", **kw)
    first = nnfast.train(X, Y, dims, acts, epochs=3, parameters=params, backend=backend, **kw)
    rest = nnfast.train(X, Y, dims, acts, epochs=3, parameters=first.parameters, backend=backend,
                        optimizer_state=first.optimizer_state, **kw)
    constant = nnfast.train(X, Y, dims, acts, epochs=6, parameters=params, backend=backend,
                            **{**kw, "schedule": None})
    for key in whole.parameters:
        np.testing.assert_allclose(whole.parameters[key], other.parameters[key], rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(rest.parameters[key], whole.parameters[key])
    assert any(not np.allclose(whole.parameters[k], constant.parameters[k]) for k in whole.parameters)
    assert whole.optimizer_state["epoch"] == 6 and first.optimizer_state["epoch"] == 3


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_save_and_load_keep_the_optimizer_state(tmp_path, name):
    """A run saved, loaded and continued from the file: the same parameters as the
    uninterrupted run; the state's arrays round-trip exactly."""
    X, Y, labels, dims, acts, params = _problem(seed=4)
    kw = dict(learning_rate=0.05, batch_size=8, shuffle=False, optimizer=name, schedule="exponential")
    whole = nnfast.train(X, Y, dims, acts, epochs=5, parameters=params, **kw)
    first = nnfast.train(X, Y, dims, acts, epochs=2, parameters=params, **kw)
    nnfast.save(tmp_path / "run.npz", first)
    back = nnfast.load(tmp_path / "run.npz")
    assert back.extra["optimizer"] == name
    assert back.optimizer_state["step"] == first.optimizer_state["step"]
    assert back.optimizer_state["epoch"] == 2
    for buffer in optimizers.OPTIMIZERS[name].buffers:
        for key, value in first.optimizer_state[buffer].items():
            np.testing.assert_array_equal(back.optimizer_state[buffer][key], value)
    rest = nnfast.train(X, Y, dims, acts, epochs=3, parameters=back.parameters,
                        optimizer_state=back.optimizer_state, **kw)
    for key in whole.parameters:
        np.testing.assert_array_equal(rest.parameters[key], whole.parameters[key])


def test_a_file_with_a_missing_state_array_is_refused(tmp_path):
    X, Y, labels, dims, acts, params = _problem()
    res = nnfast.train(X, Y, dims, acts, learning_rate=0.05, num_iterations=2, parameters=params, optimizer="adam")
    nnfast.save(tmp_path / "run.npz", res)
    with np.load(tmp_path / "run.npz") as npz:
        arrays = {k: npz[k] for k in npz.files if k != "state_v_b2"}
    np.savez(tmp_path / "broken.npz", **arrays)
    with pytest.raises(ValueError, match=r"missing \['state_v_b2'\]"):
        nnfast.load(tmp_path / "broken.npz")
