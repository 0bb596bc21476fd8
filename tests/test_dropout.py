"""Inverted dropout (``train(..., keep_prob=...)``): the mask generator against its NumPy
twin, its statistics, compiled against reference on random networks (small and packed
layers, several threads and block sizes), the gradient through the masks against
PyTorch's autograd, and bad input (resuming: test_optimizers.py)."""

import contextlib
import dataclasses
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import nnfast
from nnfast import _dropout, _network, compiled, optimizers, schedules
from nnfast._kernels.dropout import dropout_backward, dropout_forward, stream

from _strategies import DTYPES, assert_trained_close, networks


def _layer_key(drop, epoch, layer):
    h = _dropout.stream(np.array([drop.key], np.uint64), [drop.first_epoch + epoch])
    return _dropout.stream(h, [layer])[0]


@given(n=st.integers(1, 70), rows=st.integers(1, 70), p=st.floats(0.05, 1.0), key=st.integers(0, 2**64 - 1),
       epoch=st.integers(0, 10**6), layer=st.integers(1, 5), dtype=DTYPES, seed=st.integers(0, 2**32 - 1))
def test_kernel_masks_are_the_reference_masks(n, rows, p, key, epoch, layer, dtype, seed):
    """dropout_forward draws exactly the reference's D and writes A·D/p, bit for bit."""
    rng = np.random.default_rng(seed)
    drop = _dropout.Dropout((p,) * 5 + (1.0,), key, first_epoch=7)
    ids = rng.permutation(10**6)[:rows].astype(np.int64)
    A = rng.normal(size=(n, rows)).astype(dtype)
    A_in, D = np.full_like(A, np.nan), np.full_like(A, np.nan)
    keep = np.dtype(dtype).type(p)
    dropout_forward(A, A_in, D, keep, np.uint64(_dropout.threshold(p)), _layer_key(drop, epoch, layer), ids)
    D_ref = _dropout.mask(drop, epoch, layer, ids, n).astype(dtype)
    np.testing.assert_array_equal(D, D_ref)
    np.testing.assert_array_equal(A_in, A * D_ref / keep)
    dZ = rng.normal(size=n * rows).astype(dtype)
    expected = dZ * D_ref.ravel() / keep
    dropout_backward(dZ, D.ravel(), keep)
    np.testing.assert_array_equal(dZ, expected)


def test_kernel_stream_is_the_reference_stream():
    """The scalar hash s(h, c) of the kernels equals the vectorised one, at the edges of
    the 64-bit range too (wrap-around)."""
    for h in (0, 1, 2**63, 2**64 - 1, 0x0123456789ABCDEF):
        for c in (0, 1, 2**31, 2**62):
            assert int(stream(np.uint64(h), c)) == int(_dropout.stream(np.array([h], np.uint64), [c])[0])


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8, 0.97])
def test_masks_keep_the_right_fraction_independently(p):
    """Over 400 × 500 draws the kept fraction is p within 5 standard deviations; units of
    the same example, the same unit of neighbouring examples, epochs and layers are
    uncorrelated (each |r| below 5/√N)."""
    drop = _dropout.Dropout((p, p, 1.0), key=12345)
    n, m = 400, 500
    D = _dropout.mask(drop, 0, 1, np.arange(m), n).astype(np.float64)
    N = D.size
    assert abs(D.mean() - p) < 5 * np.sqrt(p * (1 - p) / N)
    others = {"next unit": (D[:-1], D[1:]), "next example": (D[:, :-1], D[:, 1:]),
              "next epoch": (D, _dropout.mask(drop, 1, 1, np.arange(m), n)),
              "next layer": (D, _dropout.mask(drop, 0, 2, np.arange(m), n))}
    for what, (a, b) in others.items():
        r = np.corrcoef(np.ravel(a), np.ravel(b).astype(np.float64))[0, 1]
        assert abs(r) < 5 / np.sqrt(a.size), (what, r)


def test_an_examples_mask_does_not_depend_on_its_batch():
    """The mask of example i is a function of i alone (not of its place in a batch)."""
    drop = _dropout.Dropout((0.5, 1.0), key=99)
    all_ = _dropout.mask(drop, 3, 1, np.arange(50), 16)
    some = np.array([41, 3, 17, 0])
    np.testing.assert_array_equal(_dropout.mask(drop, 3, 1, some, 16), all_[:, some])


def _dims(X, params, acts):
    return [X.shape[0]] + [params[f"W{l}"].shape[0] for l in range(1, len(acts) + 1)]


@pytest.mark.parametrize("name", list(optimizers.OPTIMIZERS))
@pytest.mark.parametrize("threads", [1, 2])
@given(net=networks(max_layers=4, max_width=9, max_m=120), batch=st.one_of(st.none(), st.integers(1, 130)),
       p=st.floats(0.3, 1.0), l2=st.sampled_from([0.0, 0.05]), weighted=st.booleans(),
       schedule=st.sampled_from(list(schedules.SCHEDULES)), clip=st.sampled_from([None, 0.5]),
       packed_min=st.sampled_from([1, 10**9]))
def test_compiled_matches_reference(name, threads, net, batch, p, l2, weighted, schedule, clip, packed_min):
    """Every optimizer × schedule × L2 × clipping × example weights with dropout, on random
    networks (every hidden activation, the three outputs, both dtypes), full batch and
    mini-batch, small and packed layers on tiny blocks, one and two threads: the compiled
    run against the NumPy twin, which draws the same masks."""
    X, Y, params, acts, dtype = net
    assume(len(acts) > 1)
    dims = _dims(X, params, acts)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[1]) if weighted else None
    optimizer = optimizers.get(name)
    if dtype == np.float32 and hasattr(optimizer, "eps"):
        # g/(√v + ε) turns a gradient that float32 rounds to 0 in one backend and to 1e-7
        # in the other (a saturated tanh's 1 − A², a unit dropped on all but one example)
        # into a full step of ±α; a larger ε keeps the rule and bounds that amplification.
        optimizer = dataclasses.replace(optimizer, eps=1e-3)
    kw = dict(learning_rate=0.01, seed=3, parameters=params, optimizer=optimizer, l2=l2, keep_prob=p,
              sample_weight=weights, schedule=schedule, clip_norm=clip)
    kw.update(num_iterations=3) if batch is None else kw.update(epochs=2, batch_size=batch)
    tiny = {"float32": (5, 6, 32), "float64": (5, 6, 16)}
    patches = [mock.patch.object(_network, "PACKED_MIN_WEIGHTS", packed_min),
               mock.patch.object(_network, "GEMM_BLOCKS", tiny), mock.patch.object(_network, "PACKED_MIN_ROWS", 8),
               mock.patch.object(_network, "BLOCK_BYTES", 1), mock.patch.object(compiled, "PARALLEL_MIN_WORK", 0)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a diverging run warns; it is excluded below
        ref = nnfast.train(X, Y, dims, acts, backend="reference", **kw)
        with contextlib.ExitStack() as stack:
            for patch in patches:
                stack.enter_context(patch)
            res = nnfast.train(X, Y, dims, acts, threads=threads, **kw)
    assume(np.isfinite(ref.costs).all() and max(np.max(np.abs(v)) for v in ref.parameters.values()) < 1e3)
    rtol = 2e-3 if dtype == np.float32 else 1e-8
    np.testing.assert_allclose(res.costs, ref.costs, rtol=rtol, atol=rtol * float(np.max(np.abs(ref.costs))))
    assert_trained_close(res, ref, params, dtype, name)


def test_threads_and_block_sizes_draw_the_same_masks():
    """784-64-32-10 on 300 examples: one thread with the default blocks, or two threads on
    blocks of 8, give the same run to rounding (float64) — and another seed (its masks:
    the data's order and the initial weights are fixed) a different one."""
    rng = np.random.default_rng(5)
    X = rng.random((784, 300))
    Y = np.eye(10)[:, rng.integers(0, 10, 300)]
    dims, acts = [784, 64, 32, 10], ("relu", "tanh", "softmax")
    params = nnfast.init_parameters(dims, acts, seed=0)
    kw = dict(learning_rate=0.05, epochs=2, batch_size=100, keep_prob=[0.8, 0.6], optimizer="adam",
              shuffle=False, parameters=params)
    one = nnfast.train(X, Y, dims, acts, seed=1, threads=1, **kw)
    with mock.patch.object(_network, "BLOCK_BYTES", 1), mock.patch.object(compiled, "PARALLEL_MIN_WORK", 0):
        two = nnfast.train(X, Y, dims, acts, seed=1, threads=2, **kw)
    other = nnfast.train(X, Y, dims, acts, seed=2, threads=1, **kw)
    for key in one.parameters:
        np.testing.assert_allclose(two.parameters[key], one.parameters[key], rtol=0, atol=1e-10, err_msg=key)
    assert max(np.max(np.abs(other.parameters[k] - one.parameters[k])) for k in one.parameters) > 1e-3


@pytest.mark.parametrize("backend", ["compiled", "reference"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_step_matches_torch_autograd(backend, dtype):
    """One full-batch gradient-descent step through tanh and relu layers with dropout
    against PyTorch's autograd on the same masks (drawn with ``nnfast._dropout.mask``):
    the outside oracle of the backward pass through D/p."""
    torch = pytest.importorskip("torch", reason="PyTorch is the outside oracle of this test")
    rng = np.random.default_rng(2)
    m, dims, acts, keep = 60, [5, 8, 7, 3], ("tanh", "relu", "softmax"), (0.7, 0.5)
    X = rng.normal(size=(5, m)).astype(dtype)
    labels = rng.integers(0, 3, m)
    Y = np.eye(3)[:, labels].astype(dtype)
    params = {k: v.astype(dtype) for k, v in nnfast.init_parameters(dims, acts, seed=4).items()}
    lr, seed = 0.5, 11
    res = nnfast.train(X, Y, dims, acts, learning_rate=lr, num_iterations=1, seed=seed, parameters=params,
                       keep_prob=list(keep), backend=backend)
    key = int(np.random.SeedSequence(seed).spawn(4)[3].generate_state(1, np.uint64)[0])
    drop = _dropout.Dropout(keep + (1.0,), key)
    tt = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in params.items()}
    A = torch.tensor(X.astype(np.float64))
    for l, g in ((1, torch.tanh), (2, torch.relu)):
        D = torch.tensor(_dropout.mask(drop, 0, l, np.arange(m), dims[l]).astype(np.float64))
        A = g(tt[f"W{l}"] @ A + tt[f"b{l}"]) * D / keep[l - 1]
    logits = tt["W3"] @ A + tt["b3"]
    loss = torch.nn.functional.cross_entropy(logits.T, torch.tensor(labels))
    loss.backward()
    assert res.costs[0] == pytest.approx(loss.item(), rel=1e-5 if dtype == np.float32 else 1e-12)
    for k, v in tt.items():
        expected = (v - lr * v.grad).detach().numpy()
        np.testing.assert_allclose(res.parameters[k], expected, rtol=0,
                                   atol=(1e-5 if dtype == np.float32 else 1e-12) * max(1.0, np.abs(expected).max()),
                                   err_msg=k)


@pytest.mark.parametrize("backend", ["compiled", "reference"])
def test_keep_prob_one_is_no_dropout(backend):
    """keep_prob = 1 everywhere is the run without dropout, bit for bit; a smaller one is not."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3, 50))
    Y = (rng.random((1, 50)) < 0.5).astype(float)
    kw = dict(learning_rate=0.1, epochs=3, batch_size=16, seed=2, backend=backend)
    plain = nnfast.train(X, Y, [3, 5, 1], ("tanh", "sigmoid"), **kw)
    ones = nnfast.train(X, Y, [3, 5, 1], ("tanh", "sigmoid"), keep_prob=1.0, **kw)
    half = nnfast.train(X, Y, [3, 5, 1], ("tanh", "sigmoid"), keep_prob=0.5, **kw)
    for key in plain.parameters:
        np.testing.assert_array_equal(ones.parameters[key], plain.parameters[key])
    assert not np.array_equal(half.parameters["W1"], plain.parameters["W1"])
    assert half.extra["keep_prob"] == [0.5] and plain.extra["keep_prob"] is None


@pytest.mark.parametrize("keep_prob, error, match", [
    (0.0, ValueError, r"keep_prob must be in \(0, 1\].*got 0.0"),
    (1.5, ValueError, r"keep_prob must be in \(0, 1\].*got 1.5"),
    (float("nan"), ValueError, r"keep_prob must be in \(0, 1\]"),
    ("0.5", TypeError, r"keep_prob must be a real number.*str"),
    (True, TypeError, r"keep_prob must be a real number.*bool"),
    ([0.5], ValueError, r"one per hidden layer \(2\); got 1"),
    ([0.5, -1], ValueError, r"keep_prob\[1\] must be in \(0, 1\].*got -1"),
])
def test_bad_keep_prob(keep_prob, error, match):
    X, Y = np.zeros((2, 4)), np.zeros((1, 4))
    with pytest.raises(error, match=match):
        nnfast.train(X, Y, [2, 3, 3, 1], ("tanh", "tanh", "sigmoid"), learning_rate=0.1, num_iterations=1,
                     keep_prob=keep_prob)


def test_keep_prob_without_hidden_layers_is_refused():
    with pytest.raises(ValueError, match="hidden layers and this network has none"):
        nnfast.train(np.zeros((2, 4)), np.zeros((1, 4)), [2, 1], ("sigmoid",), learning_rate=0.1,
                     num_iterations=1, keep_prob=0.5)
