"""Every compiled kernel against the NumPy reference, over random shapes, values and dtypes.

Tolerances are per dtype (``_strategies.RTOL``): float64 1e-10, float32 2e-4, relative to
the largest magnitude of the reference result.
"""

import contextlib
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnfast
from nnfast import _network, compiled, reference
from nnfast._activations import HIDDEN, NAMES

from _strategies import DTYPES, assert_close, gradient_scales, networks

ELEMENTWISE = [name for name in NAMES if name != "softmax"]


def _arrays(dtype, max_dims=3, bound=50.0):
    return hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=max_dims, max_side=9),
                      elements=st.floats(-bound, bound, width=np.dtype(dtype).itemsize * 8))


@pytest.mark.parametrize("name", ELEMENTWISE)
@given(data=st.data(), dtype=DTYPES)
def test_activation_forward_and_derivative(name, data, dtype):
    Z = data.draw(_arrays(dtype))
    for suffix in ("", "_derivative"):
        got = getattr(compiled, name + suffix)(Z)
        want = getattr(reference, name + suffix)(Z)
        assert np.asarray(got).dtype == np.dtype(dtype)
        # Derivatives such as 1 - tanh(z)^2 are O(1) quantities computed by cancellation:
        # their error is a few ulp of 1, not of the (tiny) result, so the scale floor is 1.
        assert_close(got, want, dtype, name + suffix, floor=1.0 if suffix else 1e-30)


@given(data=st.data(), dtype=DTYPES)
def test_softmax(data, dtype):
    Z = data.draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=2, max_side=9),
                             elements=st.floats(-700, 700, width=np.dtype(dtype).itemsize * 8)))
    got, want = compiled.softmax(Z), reference.softmax(Z)
    assert got.dtype == np.dtype(dtype)
    assert_close(got, want, dtype, "softmax")
    np.testing.assert_allclose(np.sum(got, axis=0), 1, rtol=1e-5 if dtype == np.float32 else 1e-12)


@given(net=networks(max_layers=1))
def test_linear_forward_and_backward(net):
    X, _, params, _, dtype = net
    W, b = params["W1"], params["b1"]
    assert_close(compiled.linear_forward(X, W, b), reference.linear_forward(X, W, b), dtype, "Z")
    dZ = np.random.default_rng(0).normal(size=(W.shape[0], X.shape[1])).astype(dtype)
    for got, want, what in zip(compiled.linear_backward(dZ, X, W), reference.linear_backward(dZ, X, W),
                               ("dA_prev", "dW", "db")):
        assert got.dtype == dtype
        assert_close(got, want, dtype, what)


@given(net=networks(outputs=("sigmoid", "softmax")))
def test_compute_cost(net):
    X, Y, params, acts, dtype = net
    A, _ = reference.forward_propagation(X, params, acts)
    if acts[-1] == "sigmoid":  # compute_cost reads more than one row as one-hot (6.9.4)
        A, Y = A[:1], Y[:1]
    assert_close(compiled.compute_cost(A, Y), reference.compute_cost(A, Y), dtype, "cost")


@given(net=networks())
def test_forward_propagation(net):
    X, _, params, acts, dtype = net
    AL, cache = compiled.forward_propagation(X, params, acts)
    AL_ref, cache_ref = reference.forward_propagation(X, params, acts)
    assert cache.keys() == cache_ref.keys()
    for key in cache_ref:
        assert cache[key].dtype == dtype
        assert_close(cache[key], cache_ref[key], dtype, key)
    assert_close(AL, AL_ref, dtype, "AL")


@given(net=networks())
def test_backward_propagation(net):
    X, Y, params, acts, dtype = net
    _, cache = reference.forward_propagation(X, params, acts)
    grads = compiled.backward_propagation(params, cache, X, Y, acts)
    grads_ref = reference.backward_propagation(params, cache, X, Y, acts)
    assert list(grads) == list(grads_ref)
    scales = gradient_scales(X, Y, params, acts)
    for key in grads_ref:
        assert grads[key].dtype == dtype
        assert_close(grads[key], grads_ref[key], dtype, key, floor=scales[key])


@given(net=networks(), lr=st.floats(1e-3, 10))
def test_update_parameters(net, lr):
    X, Y, params, acts, dtype = net
    _, grads = reference._gradients(X, Y, [(params[f"W{l}"], params[f"b{l}"]) for l in range(1, len(acts) + 1)],
                                    acts)
    got, want = compiled.update_parameters(params, grads, lr), reference.update_parameters(params, grads, lr)
    for key in want:
        assert got[key].dtype == dtype
        assert_close(got[key], want[key], dtype, key)


@given(net=networks(max_layers=4, max_width=9, max_m=150))
def test_gradients(net):
    X, Y, params, acts, dtype = net
    cost, grads = nnfast.gradients(X, Y, params, acts)
    cost_ref, grads_ref = nnfast.gradients(X, Y, params, acts, backend="reference")
    assert_close(cost, cost_ref, dtype, "cost")
    scales = gradient_scales(X, Y, params, acts)
    for key in grads_ref:
        assert grads[key].dtype == dtype
        assert_close(grads[key], grads_ref[key], dtype, key, floor=scales[key])


@given(r=st.integers(1, 9), p=st.integers(1, 9), q=st.integers(1, 2200), dtype=DTYPES,
       transposed=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_add_products_against_numpy(r, p, q, dtype, transposed, seed):
    """The blocked product behind Z = W·A and dA = Wᵀ·dZ: C += M·B for every remainder of
    the 4 × 4 blocking and rows long enough to need several column tiles (4 KB: 512
    float64, 1024 float32), with M = W or Wᵀ (W read in place)."""
    from nnfast._kernels.dense import _add_products

    rng = np.random.default_rng(seed)
    W = rng.standard_normal((p, r) if transposed else (r, p)).astype(dtype)
    M = W.T if transposed else W
    B = rng.standard_normal((p, q)).astype(dtype)
    C0 = rng.standard_normal((r, q)).astype(dtype)
    C = C0.copy()
    _add_products(W, np.bool_(transposed), B, C)
    expected = C0.astype(np.float64) + M.astype(np.float64) @ B.astype(np.float64)
    # p + 1 terms per entry, each rounded once: scale by the sum of magnitudes.
    scale = np.abs(C0) + np.abs(M).astype(np.float64) @ np.abs(B).astype(np.float64)
    tol = 8 * (p + 1) * np.finfo(dtype).eps
    assert np.all(np.abs(C - expected) <= tol * scale)


@given(m=st.integers(0, 40), n=st.integers(0, 70), k=st.integers(0, 40), dtype=DTYPES,
       a_t=st.booleans(), b_t=st.booleans(), mode=st.sampled_from(["store", "add", "bias"]),
       blocks=st.tuples(st.integers(1, 9), st.integers(1, 4), st.integers(1, 3)), seed=st.integers(0, 2**32 - 1))
def test_gemm_against_numpy(m, n, k, dtype, a_t, b_t, mode, blocks, seed):
    """The packed product C (=, +=, = bias +) A·B against NumPy: every edge of the register
    tile (sizes on both sides of MR and NR), several cache blocks in each dimension
    (KC, MC, NC drawn small: 1–9 deep, 1–4 tiles of rows, 1–3 of columns), empty
    dimensions, operands stored transposed (read in place or packed, as the tile needs)."""
    from nnfast._kernels import gemm as G

    rng = np.random.default_rng(seed)
    KC, MC, NC = blocks[0], G.round_to_tiles(dtype, blocks[1], 0), G.round_to_tiles(dtype, blocks[2], 1)
    A = rng.standard_normal((k, m) if a_t else (m, k)).astype(dtype)
    B = rng.standard_normal((n, k) if b_t else (k, n)).astype(dtype)
    A_ = A.T if a_t else A
    B_ = B.T if b_t else B
    bias = rng.standard_normal(m + 3).astype(dtype)
    C0 = rng.standard_normal((m, n)).astype(dtype)
    ldc = n + 2  # C inside a wider buffer: the two columns past n must stay untouched
    buf = rng.standard_normal(3 + m * ldc).astype(dtype)
    before = buf.copy()
    view = buf[3:].reshape(m, ldc) if m else np.zeros((0, ldc), dtype)
    view[:, :n] = C0
    code = {"store": G.STORE, "add": G.ADD, "bias": G.BIAS}[mode]
    a_rs, a_cs = (1, m) if a_t else (k, 1)
    b_rs, b_cs = (1, k) if b_t else (n, 1)
    G.gemm(m, n, k, (A.reshape(-1), 0, a_rs, a_cs), (B.reshape(-1), 0, b_rs, b_cs), (buf, 3, ldc), code, (bias, 2),
           (G.EPI_NONE, 0, buf, buf), True, np.array([KC, MC, NC], np.int64),
           np.zeros(G.pack_size((KC, MC, NC)), dtype))
    product = A_.astype(np.float64) @ B_.astype(np.float64)
    expected = {"store": product, "add": C0 + product, "bias": product + bias[2:2 + m, None]}[mode]
    extra = {"store": 0, "add": np.abs(C0), "bias": np.abs(bias[2:2 + m, None])}[mode]
    scale = extra + np.abs(A_).astype(np.float64) @ np.abs(B_).astype(np.float64)
    got = buf[3:].reshape(m, ldc) if m else np.zeros((0, ldc), dtype)
    assert np.all(np.abs(got[:, :n] - expected) <= 4 * (k + 1) * np.finfo(dtype).eps * scale)
    np.testing.assert_array_equal(got[:, n:], before[3:].reshape(m, ldc)[:, n:] if m else got[:, n:])
    assert buf[:3].tolist() == before[:3].tolist()


@given(size=st.integers(1, 60), off=st.integers(-3, 60), rows=st.integers(0, 9), cols=st.integers(0, 9),
       dtype=DTYPES)
def test_block_and_flat_views(size, off, rows, cols, dtype):
    """The work-buffer views: the same memory as slicing and reshaping would give, and an
    IndexError instead of a view that would reach outside the buffer."""
    from numba import njit

    from nnfast._kernels.views import block, flat

    @njit
    def view_then_flat(buf, off, rows, cols):
        v = block(buf, off, rows, cols)
        return v, flat(v)

    buf = np.arange(size, dtype=dtype)
    if off < 0 or off + rows * cols > size:
        with pytest.raises(IndexError):
            view_then_flat(buf, off, rows, cols)
        return
    view, line = view_then_flat(buf, off, rows, cols)
    np.testing.assert_array_equal(view, buf[off:off + rows * cols].reshape(rows, cols))
    np.testing.assert_array_equal(line, buf[off:off + rows * cols])
    view[...] = -1  # a view, not a copy
    assert np.all(buf[off:off + rows * cols] == -1)


@given(dims=st.lists(st.integers(1, 900), min_size=2, max_size=4),
       batch=st.one_of(st.integers(1, 100), st.integers(1, 70000)), n_chunks=st.integers(1, 4), dtype=DTYPES,
       packed=st.booleans())
def test_block_rows(dims, batch, n_chunks, dtype, packed):
    """Blocks: within the cache budget unless that is under 8 examples (64 when a layer
    is packed), and a batch split into runs of whole blocks of nearly equal length when it
    has 8 examples per chunk."""
    from nnfast._config import BLOCK_BYTES, PACKED_MIN_ROWS
    from nnfast._network import block_rows

    rows = block_rows(dims, batch, dtype, n_chunks, packed)
    assert 1 <= rows <= batch
    per_example = (dims[0] + dims[-1] + 2 * sum(dims[1:]) + 3 * max(max(dims[1:]), 2)) * np.dtype(dtype).itemsize
    assert rows <= (PACKED_MIN_ROWS if packed else 8) or rows * per_example <= BLOCK_BYTES
    if batch >= 8 * n_chunks:
        n_blocks = -(-batch // rows)
        runs = [(c + 1) * n_blocks // n_chunks - c * n_blocks // n_chunks for c in range(n_chunks)]
        assert min(runs) >= 1 and max(runs) - min(runs) <= 1


@pytest.mark.parametrize("x_rows", [False, True], ids=["columns", "rows"])
@pytest.mark.parametrize("packed_min", [1, 10**9], ids=["packed", "small"])
@given(net=networks(max_layers=3, max_width=9, max_m=150), batch=st.integers(1, 200))
def test_both_input_layouts(x_rows, packed_min, net, batch):
    """X in the chapter's layout or one example per row (``X_rows.T``, read in place), and
    every layer through the packed kernel (with cache blocks of a few tiles, so that
    every loop of the kernel takes several turns) or through the small-layer kernels."""
    X, Y, params, acts, dtype = net
    if x_rows:
        X = np.ascontiguousarray(X.T).T
    tiny = {"float32": (5, 4, 64), "float64": (5, 6, 6)}
    patches = [mock.patch.object(_network, "PACKED_MIN_WEIGHTS", packed_min),
               mock.patch.object(_network, "GEMM_BLOCKS", tiny)]
    _compare_patched_run(X, Y, params, acts, dtype, batch, patches)


def _compare_patched_run(X, Y, params, acts, dtype, batch, patches, threads=None, costs_too=False):
    """Gradients and one epoch of mini-batches of the compiled backend under ``patches``
    against the reference."""
    dims = [X.shape[0]] + [params[f"W{l}"].shape[0] for l in range(1, len(acts) + 1)]
    with contextlib.ExitStack() as stack, warnings.catch_warnings():
        for patch in patches:
            stack.enter_context(patch)
        warnings.simplefilter("ignore")
        cost, grads = nnfast.gradients(X, Y, params, acts, threads=threads)
        res = nnfast.train(X, Y, dims, acts, learning_rate=0.01, epochs=1, batch_size=batch, seed=0,
                           parameters=params, threads=threads)
    cost_ref, grads_ref = nnfast.gradients(X, Y, params, acts, backend="reference")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a diverging run warns; it is excluded below
        ref = nnfast.train(X, Y, dims, acts, learning_rate=0.01, epochs=1, batch_size=batch, seed=0,
                           parameters=params, backend="reference")
    assert_close(cost, cost_ref, dtype, "cost")
    scales = gradient_scales(X, Y, params, acts)
    for key in grads_ref:
        assert_close(grads[key], grads_ref[key], dtype, key, floor=scales[key])
    # Single-example steps on an identity output can blow up (in both backends alike).
    assume(np.isfinite(ref.costs).all() and max(np.max(np.abs(v)) for v in ref.parameters.values()) < 1e6)
    if costs_too:
        np.testing.assert_allclose(res.costs, ref.costs, rtol=1e-3 if dtype == np.float32 else 1e-9)
    for key in ref.parameters:
        assert_close(res.parameters[key], ref.parameters[key], dtype, key)


@pytest.mark.parametrize("threads", [2, 3])
@given(net=networks(max_layers=3, max_width=20, max_m=150), batch=st.integers(1, 200), packed_min=st.sampled_from([1, 60]))
def test_threads_on_small_problems(threads, net, batch, packed_min):
    """Several threads on small problems (the thread threshold lifted), each on its own run
    of blocks of 8 examples, so a batch takes several; packed and small layers mixed.
    Gradients and one epoch of mini-batches against the reference."""
    X, Y, params, acts, dtype = net
    tiny = {"float32": (5, 6, 32), "float64": (5, 6, 16)}
    patches = [mock.patch.object(_network, "PACKED_MIN_WEIGHTS", packed_min),
               mock.patch.object(_network, "GEMM_BLOCKS", tiny), mock.patch.object(_network, "PACKED_MIN_ROWS", 8),
               mock.patch.object(_network, "BLOCK_BYTES", 1), mock.patch.object(compiled, "PARALLEL_MIN_WORK", 0)]
    _compare_patched_run(X, Y, params, acts, dtype, batch, patches, threads=threads, costs_too=True)


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("output", ["sigmoid", "softmax", "identity"])
def test_gradients_every_activation_float64(hidden, output):
    """The issue's criterion: every hidden activation × every output layer, float64, 1e-10."""
    rng = np.random.default_rng(abs(hash((hidden, output))) % 2**32)
    dims = [6, 8, 7, 3]
    acts = (hidden, hidden, output)
    X = rng.normal(size=(6, 203))
    Y = {"sigmoid": (rng.random((3, 203)) < 0.5) * 1.0, "softmax": np.eye(3)[:, rng.integers(0, 3, 203)],
         "identity": rng.normal(size=(3, 203))}[output]
    params = nnfast.init_parameters(dims, acts, seed=1)
    params = {k: v + rng.normal(0, 0.1, v.shape) for k, v in params.items()}
    cost, grads = nnfast.gradients(X, Y, params, acts)
    cost_ref, grads_ref = nnfast.gradients(X, Y, params, acts, backend="reference")
    assert abs(cost - cost_ref) <= 1e-10 * abs(cost_ref)
    for key in grads_ref:
        assert_close(grads[key], grads_ref[key], np.float64, key)


@given(net=networks(max_m=60), lr=st.floats(0.01, 1.0), iters=st.integers(0, 8))
def test_train_full_batch(net, lr, iters):
    X, Y, params, acts, dtype = net
    dims = [X.shape[0]] + [params[f"W{l}"].shape[0] for l in range(1, len(acts) + 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a diverging run warns; it is excluded below
        ref = nnfast.train(X, Y, dims, acts, learning_rate=lr, num_iterations=iters, parameters=params,
                           backend="reference")
        res = nnfast.train(X, Y, dims, acts, learning_rate=lr, num_iterations=iters, parameters=params)
    assume(np.isfinite(ref.costs).all() and max(np.max(np.abs(v)) for v in ref.parameters.values()) < 1e6)
    assert res.costs.shape == (iters,)
    # Rounding differences compound over iterations: the tolerance grows with them. It is
    # also relative to the run's largest cost: a cost that falls to ~1e-16 (an exact fit)
    # is a difference of nearly equal numbers and keeps only its absolute accuracy.
    rtol = (iters + 1) * (5e-4 if dtype == np.float32 else 1e-10)
    np.testing.assert_allclose(res.costs, ref.costs, rtol=rtol,
                               atol=rtol * float(np.max(np.abs(ref.costs), initial=0.0)))
    for key in ref.parameters:
        assert res.parameters[key].dtype == dtype
        np.testing.assert_allclose(res.parameters[key], ref.parameters[key], rtol=1e-3 if dtype == np.float32 else 1e-9,
                                   atol=rtol)


@given(net=networks(max_m=70), batch=st.integers(1, 80), epochs=st.integers(1, 3),
       shuffle=st.booleans(), seed=st.integers(0, 100))
def test_train_mini_batch(net, batch, epochs, shuffle, seed):
    X, Y, params, acts, dtype = net
    if dtype == np.float32:
        return  # float32 mini-batch drift is covered by test_train_full_batch's bound
    dims = [X.shape[0]] + [params[f"W{l}"].shape[0] for l in range(1, len(acts) + 1)]
    kw = dict(learning_rate=0.05, epochs=epochs, batch_size=batch, shuffle=shuffle, seed=seed,
              parameters=params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a diverging run warns; it is excluded below
        res = nnfast.train(X, Y, dims, acts, **kw)
        ref = nnfast.train(X, Y, dims, acts, backend="reference", **kw)
    # A diverged run would pass as NaN == NaN and compare nothing.
    assume(np.isfinite(ref.costs).all() and max(np.max(np.abs(v)) for v in ref.parameters.values()) < 1e6)
    assert res.costs.shape == (epochs,)
    np.testing.assert_allclose(res.costs, ref.costs, rtol=1e-9, atol=1e-12)
    for key in ref.parameters:
        np.testing.assert_allclose(res.parameters[key], ref.parameters[key], rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("n_x", [30, 200])  # layer 1 small, packed
def test_parallel_chunks_agree_with_serial(monkeypatch, n_x):
    """Large enough for several chunks (threads): same result as the reference and as one chunk."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(n_x, 3000))
    Y = np.eye(4)[:, rng.integers(0, 4, 3000)]
    dims, acts = [n_x, 40, 4], ("tanh", "softmax")
    params = nnfast.init_parameters(dims, acts, seed=2)
    cost, grads = nnfast.gradients(X, Y, params, acts)
    cost_ref, grads_ref = nnfast.gradients(X, Y, params, acts, backend="reference")
    monkeypatch.setattr(compiled, "_n_chunks", lambda *args: 1)
    cost_serial, grads_serial = nnfast.gradients(X, Y, params, acts)
    for key in grads_ref:
        assert_close(grads[key], grads_ref[key], np.float64, key)
        assert_close(grads[key], grads_serial[key], np.float64, key)
    assert abs(cost - cost_ref) <= 1e-12 * cost_ref


def test_parallel_result_is_deterministic():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(30, 3000))
    Y = (rng.random((1, 3000)) < 0.5) * 1.0
    dims, acts = [30, 40, 1], ("relu", "sigmoid")
    runs = [nnfast.train(X, Y, dims, acts, learning_rate=0.1, num_iterations=3, seed=1) for _ in range(3)]
    for r in runs[1:]:
        np.testing.assert_array_equal(r.costs, runs[0].costs)
        for key in r.parameters:
            np.testing.assert_array_equal(r.parameters[key], runs[0].parameters[key])


@pytest.mark.parametrize("x_rows", [False, True], ids=["columns", "rows"])
@pytest.mark.parametrize("packed_min", [1, 10**9], ids=["packed", "small"])
@given(net=networks(max_layers=3, max_width=40, max_m=300), block_bytes=st.sampled_from([512, 2**19]))
def test_predict_forward_pass(x_rows, packed_min, net, block_bytes):
    """predict_proba's forward-only pass (blocks spread over the threads, nothing of the
    backward pass) against the reference: both layouts, packed and small layers, one
    block or many (a tiny cache budget makes blocks of 8 examples)."""
    X, _, params, acts, dtype = net
    if x_rows:
        X = np.ascontiguousarray(X.T).T
    with mock.patch.object(_network, "PACKED_MIN_WEIGHTS", packed_min), \
            mock.patch.object(_network, "BLOCK_BYTES", block_bytes):
        got = nnfast.predict_proba(params, X, acts)
        labels = nnfast.predict(params, X, acts)
    expected = nnfast.predict_proba(params, X, acts, backend="reference")
    assert got.dtype == dtype
    assert_close(got, expected, dtype, "A[L]")
    if acts[-1] == "softmax":  # the same classes where the reference is not near a tie
        top2 = np.sort(expected, axis=0)[-2:]
        clear = top2[1] - top2[0] > 1e-3
        np.testing.assert_array_equal(labels[clear], np.argmax(expected, axis=0)[clear])


def test_examples_as_rows_are_read_in_place():
    """X held with one example per row, passed as X_rows.T, reaches the kernels as the
    caller's own memory (no copy is made by validation), and trains to the same result
    as the chapter's layout."""
    from nnfast._validate import check_data

    rng = np.random.default_rng(3)
    X_rows = rng.standard_normal((500, 300))
    Y = np.eye(3)[:, rng.integers(0, 3, 500)]
    dims, acts = (300, 20, 3), ("relu", "softmax")
    X, _ = check_data(X_rows.T, Y, dims, acts, np.dtype(np.float64), "test", rows_ok=True)
    assert np.shares_memory(X, X_rows)
    kw = dict(learning_rate=0.1, batch_size=64, epochs=2, seed=0)
    rows = nnfast.train(X_rows.T, Y, dims, acts, **kw)
    columns = nnfast.train(np.ascontiguousarray(X_rows.T), Y, dims, acts, **kw)
    for key in rows.parameters:
        assert_close(rows.parameters[key], columns.parameters[key], np.float64, key)
