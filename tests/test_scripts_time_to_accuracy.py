"""scripts/time_to_accuracy.py: its --quick run end to end on tiny IDX files written here
(real MNIST is not needed), the skip without data, bad flags, and the summary's medians."""

import importlib.util
import json
import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "time_to_accuracy.py"


def _script():
    spec = importlib.util.spec_from_file_location("time_to_accuracy", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tta = _script()


def _write_idx(folder, n_train=3000, n_test=500, seed=0):
    """Raw IDX files of a learnable toy problem: digit k lights a 6x6 block at a place of
    its own (plus noise), so a network gets most of the test set right after one epoch;
    a tenth of the test labels are drawn at random, which keeps the targets out of reach."""
    rng = np.random.default_rng(seed)

    def images(labels):
        x = rng.integers(0, 60, size=(labels.size, 28, 28))
        for i, k in enumerate(labels):
            r, c = divmod(int(k), 4)
            x[i, 2 + 8 * r:8 + 8 * r, 2 + 6 * c:8 + 6 * c] = 255
        return x.astype(np.uint8)

    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        x = images(labels)
        if prefix == "t10k":
            noisy = rng.random(n) < 0.1
            labels[noisy] = rng.integers(0, 10, noisy.sum())
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, 28, 28)
                                                             + x.tobytes())
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n)
                                                             + labels.astype(np.uint8).tobytes())


def _run(args, cwd):
    env = {k: v for k, v in os.environ.items() if k != tta.MNIST_ENV_VAR}
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def _installed(peer):
    return importlib.util.find_spec(tta._REQUIRES[peer]) is not None


def test_quick_run_writes_sane_rows(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _write_idx(data)
    out = tmp_path / "tta.json"
    proc = _run(["--quick", "--data", str(data), "--threads", "1", "--json", str(out)], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "AMD" in proc.stdout or "CPU" in proc.stdout
    report = json.loads(out.read_text())
    assert report["errors"] == []
    assert report["settings"]["quick"] and report["settings"]["threads"] == 1
    peers = [p for p in tta.PEERS if _installed(p)]
    assert "nnfast" in peers
    got = sorted((r["network"], r["peer"]) for r in report["rows"])
    assert got == sorted((n, p) for n in tta.DEFAULT_NETWORKS for p in peers)
    for r in report["rows"]:
        where = f"{r['network']} {r['peer']}"
        assert r["epoch_budget"] == 1 and len(r["train_s"]) == len(r["test_accuracy"]) == 1, where
        assert r["threads"] == 1 and r["seed"] == 0 and r["configuration"], where
        assert all(t > 0 for t in r["train_s"]) and r["s_per_epoch"] == pytest.approx(r["train_s"][-1]), where
        assert r["eval_s"] >= 0, where
        # One epoch of 3000 toy images: far better than chance, below the noisy labels' ceiling.
        assert 0.5 < r["test_accuracy"][0] < 0.96, where
        for t in tta.TARGETS:
            reached = r["test_accuracy"][0] >= t
            assert (r[f"epochs_to_{t}"] == 1) == reached and (r[f"s_to_{t}"] is not None) == reached, where
            if reached:
                assert r[f"s_to_{t}"] == r["train_s"][0], where
    # The table names every peer that ran, on both networks, and says the targets were missed.
    for p in peers:
        assert proc.stdout.count(f"  {p} ") >= 2, p
    assert "not reached (0/1; 1 ep)" in proc.stdout


def test_without_the_files_it_skips(tmp_path):
    proc = _run(["--quick", "--data", str(tmp_path)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("skipped: MNIST not found in " + str(tmp_path))


@pytest.mark.parametrize("argv, message", [
    (["--threads", "0"], "expected a whole number >= 1"),
    (["--repeats", "two"], "expected a whole number >= 1"),
    (["--peers", "nnfast,keras"], "unknown peer 'keras'"),
    (["--networks", "784-10"], "unknown network '784-10'"),
    (["--quick", "--repeats", "3"], "--quick runs 1 repeat"),
    (["--plot", "/no/such/folder/x.png"], "the folder of /no/such/folder/x.png does not exist"),
])
def test_bad_flags_are_clear_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        tta.main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def _row(peer, seconds, accuracies, budget=8):
    r = {"network": "784-128-10", "peer": peer, "configuration": "c", "train_s": seconds,
         "test_accuracy": accuracies, "s_per_epoch": seconds[-1] / len(seconds), "epoch_budget": budget}
    for t in tta.TARGETS:
        r[f"epochs_to_{t}"], r[f"s_to_{t}"] = tta._first_reach(accuracies, seconds, t)
    return r


def test_summary_takes_medians_and_counts_unreached_as_slowest():
    rows = [_row("nnfast", [1.0, 2.0], [0.976, 0.981]),
            _row("nnfast", [1.0, 2.0, 3.0], [0.97, 0.976, 0.980]),
            _row("nnfast", [2.0, 4.0], [0.975, 0.979]),          # never 98 %
            _row("torch", [3.0, 6.0], [0.976, 0.979]),
            _row("torch", [3.0, 6.0], [0.976, 0.979])]
    s = tta.summarize(rows)
    mine, theirs = s["784-128-10", "nnfast"], s["784-128-10", "torch"]
    assert mine["s_to_0.975"] == 2.0 and mine["epochs_to_0.975"] == 1 and mine["reached_0.975"] == 3
    assert mine["s_to_0.98"] == 3.0 and mine["epochs_to_0.98"] == 3 and mine["reached_0.98"] == 2
    assert math.isinf(theirs["s_to_0.98"]) and theirs["reached_0.98"] == 0
    text = tta.table(s)
    assert "1.50x" in text                     # torch 3.0 s / nnfast 2.0 s to 97.5 %
    assert "nnfast only" in text               # 98 %: torch never
    assert "not reached (0/2; 8 ep)" in text


def test_cosine_rate_is_torchs_closed_form():
    r = tta.Recipe("nesterov", 0.2, 256, 8)
    assert tta.cosine_rate(r, 0) == 0.2 and tta.cosine_rate(r, 4) == pytest.approx(0.1)
    assert tta.cosine_rate(r, 8) == pytest.approx(0.0, abs=1e-15)
    assert tta.cosine_rate(tta.Recipe("adam", 1e-3, 200, 20, "constant"), 7) == 1e-3
