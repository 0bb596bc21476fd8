"""scripts/sklearn_dropin.py's smoke mode: the drop-in table on the digits (no MNIST:
those cases say they are skipped), each fit in a process of its own, written as JSON."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="the sklearn extra: pip install 'nnfast[sklearn]'")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "sklearn_dropin.py"


def test_quick_dropin_on_the_digits(tmp_path):
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--repeats", "1", "--parts", "dropin",
                           "--mnist", str(tmp_path / "no-mnist"), "--json", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "MNIST cases skipped" in proc.stdout and "CPU:" in proc.stdout
    report = json.loads(out.read_text())
    assert [(r["data"], r["hidden"]) for r in report["dropin"]] == [("digits", [64]), ("digits", [256, 128])]
    for row in report["dropin"]:
        for kind in ("sklearn", "nnfast"):
            run, = row["runs"][kind]
            assert 0.3 < run["accuracy"] <= 1.0 and run["seconds"] > 0 and run["n_iter"] == 3
        assert row["accuracy_diff_pp"] == pytest.approx(
            100 * (row["median"]["nnfast"]["accuracy"] - row["median"]["sklearn"]["accuracy"]))


def test_bad_parts_are_refused():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--parts", "dropin,plots"], capture_output=True, text=True)
    assert proc.returncode == 2 and "--parts takes dropin, search, dask; got ['plots']" in proc.stderr
