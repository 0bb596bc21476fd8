"""The peers benchmark (``nnfast.peers``) on tiny cases, nothing timed.

Each installed peer (PyTorch, JAX, scikit-learn) is an outside oracle: trained a few steps
from the same initial weights on the same batches, its parameters must match nnfast's
NumPy reference, and so must the compiled backend's. Every implementation runs in its own
worker process, as in a real run: torch is never imported into this process, where
Numba's OpenMP runs.
"""

import numpy as np
import pytest

import nnfast
from nnfast import peers
from nnfast.peers import IMPLEMENTATIONS, TOLERANCE, PeerCase

#: A full-batch tanh/sigmoid net and a mini-batch relu/softmax net whose short check run
#: (3.5 batches) ends on a remainder batch.
TINY = (PeerCase("tiny-full", (5, 3, 1), ("tanh", "sigmoid"), 60, None, "random", 0.5),
        PeerCase("tiny-mini", (6, 8, 7, 4), ("relu", "relu", "softmax"), 90, 16, "random", 0.1))
DTYPES = ("float64", "float32")


@pytest.fixture(scope="module")
def checks():
    """One agreement check of every installed implementation (one worker per impl and dtype)."""
    return peers.check_peers(TINY, IMPLEMENTATIONS, DTYPES)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_peer_agrees_with_the_numpy_reference(checks, impl, dtype):
    reason = peers.available(impl)
    if reason:
        pytest.skip(reason)
    output = checks[impl, dtype]
    assert "error" not in output, output
    for case in TINY:
        result = output["cases"][case.name]
        assert "skipped" not in result, result
        assert result["agrees"] and result["difference"] <= TOLERANCE[dtype], (case.name, result)


@pytest.mark.parametrize("impl", ["torch", "jax", "sklearn"])
def test_peer_workers_never_load_numba(checks, impl):
    reason = peers.available(impl)
    if reason:
        pytest.skip(reason)
    assert checks[impl, "float64"]["worker"]["numba loaded"] is False


def test_the_check_catches_different_math():
    # The reference's result for one learning rate, a run with another: far off tolerance.
    case = TINY[1]
    X = np.random.default_rng(0).standard_normal((case.dims[0], case.m))
    labels = np.arange(case.m) % case.dims[-1]
    initial = nnfast.init_parameters(case.dims, case.activations, seed=1)
    params0 = _pairs(initial)
    reference = _pairs(peers._reference(X, labels, case, initial, np.float64))
    wrong = peers.replace(case, learning_rate=case.learning_rate * 1.1)
    diff = peers._agreement(peers._MAKERS["numpy"], X, labels, wrong, params0, reference, np.float64)
    assert diff > 0.05
    same = peers._agreement(peers._MAKERS["numpy"], X, labels, case, params0, reference, np.float64)
    assert same == 0.0


def _pairs(parameters):
    return [(parameters[f"W{l}"], parameters[f"b{l}"]) for l in range(1, len(parameters) // 2 + 1)]


def test_quick_impl_list_parses():
    args = peers._parser().parse_args(["--quick", "--impl", "numpy,nnfast", "--dtype", "float32"])
    assert args.quick and args.impl == ("numpy", "nnfast") and args.dtype == ("float32",)
    assert [c.name for c in peers._parser().parse_args(["--cases", "b128"]).cases] == [
        "784-128-10/b128", "784-256-128-10/b128", "784-512-512-10/b128"]


@pytest.mark.parametrize("argv, message", [
    (["--impl", "numpy,tensorflow"], "unknown implementation 'tensorflow'"),
    (["--impl", ","], "unknown implementation"),
    (["--dtype", "float16"], "unknown dtype 'float16'"),
    (["--cases", "785-"], "no case matches '785-'"),
    (["--quick", "--cases", "784-1024"], "none of the chosen cases is in the --quick subset"),
    (["--repeats", "0"], "expected a positive integer, got 0"),
    (["--min-time", "inf"], "expected a finite number > 0"),
    (["--out", "/proc/no/such/folder"], "cannot write"),
])
def test_bad_arguments_are_one_line_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        peers.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("python -m nnfast.peers: error:") and message in last, err
