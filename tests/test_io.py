"""Tests of nnfast.io: save/load round trips and every kind of malformed file."""

import re
import struct
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from nnfast import _activations
from nnfast.api import TrainResult
from nnfast.io import FORMAT, load, save


def make_result(layer_dims, activations, dtype=np.float64, seed=0, n_costs=3):
    """A TrainResult built directly (no training), random finite parameters."""
    rng = np.random.default_rng(seed)
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters[f"W{l}"] = rng.standard_normal((layer_dims[l], layer_dims[l - 1])).astype(dtype)
        parameters[f"b{l}"] = rng.standard_normal((layer_dims[l], 1)).astype(dtype)
    costs = np.sort(rng.random(n_costs))[::-1].astype(dtype)
    return TrainResult(parameters=parameters, costs=costs, layer_dims=tuple(layer_dims),
                       activations=tuple(activations))


def assert_same_result(a, b):
    assert a.layer_dims == b.layer_dims and all(type(n) is int for n in b.layer_dims)
    assert a.activations == b.activations and all(type(s) is str for s in b.activations)
    assert_array_equal(a.costs, b.costs)
    assert a.costs.dtype == b.costs.dtype
    assert sorted(a.parameters) == sorted(b.parameters)
    for key, value in a.parameters.items():
        assert b.parameters[key].dtype == value.dtype, key
        assert_array_equal(b.parameters[key], value, err_msg=key)


NETWORKS = [
    ((2, 4, 1), ("tanh", "sigmoid")),                       # the chapter's planar network
    ((784, 25, 10), ("tanh", "softmax")),                   # the chapter's MNIST network
    ((3, 1), ("identity",)),                                # one layer
    ((5, 6, 4, 3, 2), ("relu", "leaky_relu", "arctan", "softmax")),
    ((2, 3, 3, 3, 3, 3, 1), ("softplus", "bipolar_sigmoid", "binary_step", "sigmoid", "identity",
                             "sigmoid")),
]


# ----------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layer_dims, activations", NETWORKS)
def test_round_trip(tmp_path, layer_dims, activations, dtype):
    result = make_result(layer_dims, activations, dtype)
    save(tmp_path / "model.npz", result)
    assert_same_result(result, load(tmp_path / "model.npz"))


def test_round_trip_with_empty_costs_and_any_file_name(tmp_path):
    result = make_result((2, 4, 1), ("tanh", "sigmoid"), n_costs=0)
    path = tmp_path / "model.weights"           # np.savez would append ".npz" to a name
    save(str(path), result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.weights"]
    loaded = load(str(path))
    assert_same_result(result, loaded)
    assert isinstance(loaded, TrainResult)


def test_save_overwrites(tmp_path):
    path = tmp_path / "model.npz"
    save(path, make_result((2, 4, 1), ("tanh", "sigmoid")))
    second = make_result((3, 2), ("softmax",), seed=1)
    save(path, second)
    assert_same_result(second, load(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_file_layout(tmp_path):
    save(tmp_path / "m.npz", make_result((2, 4, 1), ("tanh", "sigmoid"), np.float32))
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(["format", "layer_dims", "activations", "costs",
                                            "W1", "b1", "W2", "b2"])
        assert npz["format"].dtype.kind == "U" and str(npz["format"]) == FORMAT
        assert npz["layer_dims"].dtype == np.int64
        assert npz["activations"].dtype.kind == "U"
        assert npz["W1"].dtype == np.float32


@st.composite
def networks(draw):
    L = draw(st.integers(1, 5))
    dims = draw(st.lists(st.integers(1, 6), min_size=L + 1, max_size=L + 1))
    hidden = draw(st.lists(st.sampled_from(_activations.HIDDEN), min_size=L - 1, max_size=L - 1))
    output = draw(st.sampled_from(sorted(_activations.OUTPUT_COSTS)))
    return tuple(dims), tuple(hidden) + (output,)


@given(networks(), st.sampled_from([np.float32, np.float64]), st.integers(0, 5),
       st.integers(0, 2**16))
@settings(max_examples=40, deadline=None)
def test_round_trip_any_network(network, dtype, n_costs, seed):
    result = make_result(*network, dtype=dtype, seed=seed, n_costs=n_costs)
    with tempfile.TemporaryDirectory() as folder:
        save(Path(folder) / "m.npz", result)
        assert_same_result(result, load(Path(folder) / "m.npz"))


# ----------------------------------------------------------------------------------------
# save refuses results that would not load


@pytest.mark.parametrize("change, exc, fragment", [
    (dict(parameters={"W1": np.ones((4, 2)), "b1": np.ones((4, 1)), "W2": np.ones((4, 1)),
                      "b2": np.ones((1, 1))}), ValueError, "W2"),
    (dict(activations=("tanh", "nope")), ValueError, "'nope'"),
    (dict(activations=("tanh",)), ValueError, "one name per layer"),
    (dict(layer_dims=(2, 0, 1)), ValueError, "layer_dims[1]"),
    (dict(costs=np.array([1.0, np.nan])), ValueError, "result.costs must be finite"),
    (dict(costs=np.array([1, 2])), TypeError, "result.costs must be a float32 or float64"),
])
def test_save_checks_the_result(tmp_path, change, exc, fragment):
    base = make_result((2, 4, 1), ("tanh", "sigmoid"))
    fields = dict(parameters=base.parameters, costs=base.costs, layer_dims=base.layer_dims,
                  activations=base.activations)
    fields.update(change)
    path = tmp_path / "m.npz"
    with pytest.raises(exc, match=re.escape(fragment)) as info:
        save(path, TrainResult(**fields))
    assert str(path) in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_save_argument_types(tmp_path):
    result = make_result((2, 1), ("sigmoid",))
    with pytest.raises(TypeError, match="result must be an nnfast TrainResult"):
        save(tmp_path / "m.npz", {"W1": np.ones((1, 2))})
    with pytest.raises(TypeError, match="path must be"):
        save(42, result)


def test_save_refuses_integer_parameters(tmp_path):
    result = make_result((2, 1), ("sigmoid",))
    params = dict(result.parameters, W1=np.ones((1, 2), dtype=np.int64))
    expected = "result.parameters['W1'] must be float32 or float64"
    with pytest.raises(TypeError, match=re.escape(expected)):
        save(tmp_path / "m.npz", TrainResult(params, result.costs, result.layer_dims,
                                             result.activations))


# ----------------------------------------------------------------------------------------
# Malformed files. Each starts from a valid file's arrays, changes one thing, and rewrites
# it with np.savez, so exactly that one thing is wrong.

LAYER_DIMS, ACTIVATIONS = (2, 4, 3), ("tanh", "softmax")


@pytest.fixture
def arrays(tmp_path):
    """The arrays of a valid model file (W1 (4, 2), b1 (4, 1), W2 (3, 4), b2 (3, 1))."""
    save(tmp_path / "valid.npz", make_result(LAYER_DIMS, ACTIVATIONS))
    with np.load(tmp_path / "valid.npz", allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def write(path, arrays, **changes):
    """Write ``arrays`` with ``changes`` applied (a value of None deletes the key)."""
    merged = dict(arrays, **changes)
    with open(path, "wb") as f:
        np.savez(f, **{k: v for k, v in merged.items() if v is not None})
    return path


def load_error(path, exc=ValueError, *fragments):
    """Load must fail with ``exc``; the message names the file and holds every fragment."""
    with pytest.raises(exc) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def test_valid_fixture_loads(tmp_path, arrays):
    assert load(write(tmp_path / "m.npz", arrays)).layer_dims == LAYER_DIMS


@pytest.mark.parametrize("content, fragment", [
    (b"", "starts with b''"),
    (b"hello world", "starts with b'hell'"),
    (b"\x93NUMPY\x01\x00", "zip"),
    (b"\x80\x04\x95", "zip"),                         # a pickle
])
def test_not_a_zip_file(tmp_path, content, fragment):
    path = tmp_path / "m.npz"
    path.write_bytes(content)
    load_error(path, ValueError, "not an nnfast model file", fragment)


def test_npy_file_is_not_a_model(tmp_path):
    path = tmp_path / "m.npz"
    with open(path, "wb") as f:
        np.save(f, np.ones(3))
    load_error(path, ValueError, "not an nnfast model file")


@pytest.mark.parametrize("cut", [lambda n: 3, lambda n: 30, lambda n: n // 2, lambda n: n - 1],
                         ids=["3-bytes", "30-bytes", "half", "all-but-1"])
def test_truncated_file(tmp_path, arrays, cut):
    path = write(tmp_path / "m.npz", arrays)
    raw = path.read_bytes()
    path.write_bytes(raw[:cut(len(raw))])
    load_error(path, ValueError)


def test_corrupt_member(tmp_path, arrays):
    path = write(tmp_path / "m.npz", arrays)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("W2.npy")
    # np.savez stores members uncompressed, right after their local header, whose name and
    # extra-field lengths are at bytes 26 and 28 of the header.
    name_len, extra_len = struct.unpack_from("<HH", raw, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    raw[start + info.file_size - 3] ^= 0xFF     # the last W2 value, leaving the .npy header
    path.write_bytes(bytes(raw))
    load_error(path, ValueError, "'W2' is corrupt", "CRC")


class Trap:
    """Unpickling this creates the file ``target``: proof that code from the file ran."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return open, (self.target, "w")


@pytest.mark.parametrize("key", ["W1", "costs", "activations"])
def test_pickled_object_array_is_never_unpickled(tmp_path, arrays, key):
    marker = tmp_path / "code-ran"
    trap = np.empty(1, dtype=object)
    trap[0] = Trap(marker)
    path = write(tmp_path / "m.npz", arrays, **{key: trap})
    load_error(path, ValueError, repr(key), "never unpickles")
    assert not marker.exists()


def test_extra_pickled_key_is_rejected_unread(tmp_path, arrays):
    marker = tmp_path / "code-ran"
    trap = np.empty(1, dtype=object)
    trap[0] = Trap(marker)
    path = write(tmp_path / "m.npz", arrays, payload=trap)
    load_error(path, ValueError, "unexpected ['payload']")
    assert not marker.exists()


@pytest.mark.parametrize("key", ["format", "layer_dims", "activations", "costs", "W1", "b2"])
def test_missing_key(tmp_path, arrays, key):
    path = write(tmp_path / "m.npz", arrays, **{key: None})
    load_error(path, ValueError, "missing", repr(key))


@pytest.mark.parametrize("key", ["W3", "b3", "notes"])
def test_unexpected_key(tmp_path, arrays, key):
    path = write(tmp_path / "m.npz", arrays, **{key: np.ones((2, 2))})
    load_error(path, ValueError, "unexpected", repr(key))


def test_non_npy_member_is_an_unexpected_key(tmp_path, arrays):
    path = write(tmp_path / "m.npz", arrays)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("readme.txt", "hello")
    load_error(path, ValueError, "unexpected", "'readme.txt'")


@pytest.mark.parametrize("value, exc, fragment", [
    (np.array("nnfast-model/99"), ValueError, "unknown format version 'nnfast-model/99'"),
    (np.array(""), ValueError, "unknown format version ''"),
    (np.array([FORMAT]), ValueError, "key 'format' must be 0-D"),
    (np.array(1), TypeError, "key 'format' must be a unicode text array"),
    (np.array(FORMAT.encode()), TypeError, "key 'format' must be a unicode text array"),
])
def test_bad_format_version(tmp_path, arrays, value, exc, fragment):
    load_error(write(tmp_path / "m.npz", arrays, format=value), exc, fragment)


@pytest.mark.parametrize("activations, exc, fragments", [
    (["tanh", "sigmod"], ValueError, ["activations[1]", "'sigmod'"]),
    (["Tanh", "softmax"], ValueError, ["activations[0]", "'Tanh'"]),
    (["softmax", "softmax"], ValueError, ["hidden layer 1", "'softmax'"]),
    (["tanh", "relu"], ValueError, ["output layer", "'relu'"]),
    (["tanh"], ValueError, ["expected 2", "got 1"]),
    (["tanh", "tanh", "softmax"], ValueError, ["expected 2", "got 3"]),
    (np.array([2, 9]), TypeError, ["key 'activations' must be a unicode text array"]),
    (np.array([[b"tanh", b"softmax"]]), TypeError, ["unicode"]),
    (np.array([["tanh", "softmax"]]), ValueError, ["key 'activations' must be 1-D"]),
])
def test_bad_activations(tmp_path, arrays, activations, exc, fragments):
    path = write(tmp_path / "m.npz", arrays, activations=np.asarray(activations))
    load_error(path, exc, *fragments)


@pytest.mark.parametrize("layer_dims, exc, fragment", [
    (np.array([2, -4, 3]), ValueError, "layer_dims[1] must be >= 1"),
    (np.array([2, 0, 3]), ValueError, "layer_dims[1] must be >= 1"),
    (np.array([[2, 4, 3]]), ValueError, "key 'layer_dims' must be 1-D"),
    (np.array(2), ValueError, "key 'layer_dims' must be 1-D"),
    (np.array([2.0, 4.0, 3.0]), TypeError, "key 'layer_dims' must be an integer array"),
    (np.array(["2", "4", "3"]), TypeError, "key 'layer_dims' must be an integer array"),
    (np.array([2]), ValueError, "at least one layer"),
])
def test_bad_layer_dims(tmp_path, arrays, layer_dims, exc, fragment):
    load_error(write(tmp_path / "m.npz", arrays, layer_dims=layer_dims), exc, fragment)


def test_layer_dims_with_more_layers_than_parameters(tmp_path, arrays):
    path = write(tmp_path / "m.npz", arrays, layer_dims=np.array([2, 4, 3, 1]),
                 activations=np.array(["tanh", "tanh", "sigmoid"]))
    load_error(path, ValueError, "missing ['W3', 'b3']")


@pytest.mark.parametrize("changes, fragment", [
    (dict(W2=np.ones((3, 5))), "parameters['W2']"),                          # does not chain
    (dict(layer_dims=np.array([2, 5, 3])), "parameters['W1']"),              # dims disagree
    (dict(W1=np.ones((2, 4))), "parameters['W1']"),                          # transposed W
    (dict(W2=np.ones((4, 3))), "parameters['W2']"),                          # transposed W
    (dict(b1=np.ones(4)), "parameters['b1'] must have shape (n[1], 1) = (4, 1)"),
    (dict(b2=np.ones((1, 3))), "parameters['b2'] must have shape (n[2], 1) = (3, 1)"),
    (dict(W1=np.ones((4, 2, 1))), "parameters['W1'] must be a 2-D array"),
])
def test_shapes_that_do_not_chain(tmp_path, arrays, changes, fragment):
    load_error(write(tmp_path / "m.npz", arrays, **changes), ValueError, fragment)


@pytest.mark.parametrize("key", ["W1", "b1", "W2", "b2", "costs"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values(tmp_path, arrays, key, bad):
    value = arrays[key].copy()
    value.flat[-1] = bad
    path = write(tmp_path / "m.npz", arrays, **{key: value})
    load_error(path, ValueError, "must be finite", key)


@pytest.mark.parametrize("key", ["W1", "b2", "costs"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.complex128, np.float16, np.bool_])
def test_wrong_dtypes(tmp_path, arrays, key, dtype):
    path = write(tmp_path / "m.npz", arrays, **{key: arrays[key].astype(dtype)})
    load_error(path, TypeError, key, "float32 or float64", np.dtype(dtype).name)


def test_mixed_parameter_dtypes(tmp_path, arrays):
    path = write(tmp_path / "m.npz", arrays, W2=arrays["W2"].astype(np.float32))
    load_error(path, TypeError, "one dtype", "W2 float32", "W1 float64")


def test_costs_must_be_one_dimensional(tmp_path, arrays):
    path = write(tmp_path / "m.npz", arrays, costs=arrays["costs"].reshape(1, -1))
    load_error(path, ValueError, "'costs' must be 1-D")


def test_missing_file_and_wrong_path_type(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent.npz")
    with pytest.raises(TypeError, match="path must be"):
        load(None)


def test_save_and_load_are_top_level_names(tmp_path):
    """Issue 4 names them ``nnfast.save`` / ``nnfast.load``."""
    import nnfast
    assert nnfast.save is nnfast.io.save and nnfast.load is nnfast.io.load
