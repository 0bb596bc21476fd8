"""The ``nnfast`` command end to end, on tiny settings (the whole file runs in well under a
minute once the Numba kernels are cached)."""

import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnfast
from nnfast import cli, compiled, plots, progress
from nnfast.datasets import load_mnist, load_planar_dataset, one_hot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HAVE_MPL = plots.available()
needs_mpl = pytest.mark.skipif(not HAVE_MPL, reason="matplotlib is not installed: no figures "
                                                    "to check (pip install 'nnfast[plot]')")
REPO = Path(__file__).resolve().parents[1]


def run(capsys, *argv):
    """``nnfast ARGV`` in this process: (exit status, stdout, stderr)."""
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def assert_png(path):
    """A real PNG image of a plausible size: signature, IHDR with width and height >= 100."""
    path = Path(path)
    assert path.is_file(), f"{path} was not written"
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 100 and height >= 100, (width, height)
    assert len(data) > 5000, f"{path} is suspiciously small ({len(data)} bytes)"


def cost_lines(out):
    return [line for line in out.splitlines() if line.startswith("Cost after")]


# ----------------------------------------------------------------------------------------
# planar, sweep, datasets


def test_planar_prints_the_chapters_lines_and_saves_figures_and_model(tmp_path, capsys):
    model = tmp_path / "models" / "planar.npz"
    status, out, err = run(capsys, "planar", "--iterations", 2001, "--out", tmp_path / "fig",
                           "--save", model)
    assert status == 0, err
    # The chapter's first printed cost (W ~ 0.01 randn, so A2 ~ 0.5 and J ~ log 2).
    assert cost_lines(out) == ["Cost after iteration 0: 0.693048",
                               "Cost after iteration 1000: 0.288083",
                               "Cost after iteration 2000: 0.254385"]
    assert "Accuracy of nn: 0." in out and "µs/iteration" in out
    assert model.is_file()
    if HAVE_MPL:
        assert_png(tmp_path / "fig" / "planar_cost.png")
        assert_png(tmp_path / "fig" / "planar_boundary.png")
    else:
        assert plots.SKIPPED_MESSAGE in out


def test_planar_seed_option_reproduces_the_chapter_with_seed_2(tmp_path, capsys):
    args = ["planar", "--iterations", 1001, "--out", tmp_path, "--learning-rate", 1.2]
    _, default, _ = run(capsys, *args)
    _, seeded, _ = run(capsys, *args, "--seed", 2)
    _, other, _ = run(capsys, *args, "--seed", 7)
    assert cost_lines(seeded) == cost_lines(default)
    assert cost_lines(other) != cost_lines(default)


def test_planar_both_backends_and_quiet(tmp_path, capsys):
    status, out, _ = run(capsys, "planar", "--backend", "both", "--iterations", 50, "--quiet",
                         "--out", tmp_path)
    assert status == 0
    assert cost_lines(out) == []
    assert "== reference backend" in out and "== compiled backend" in out
    assert "faster per iteration than the NumPy reference" in out


def test_sweep_prints_an_accuracy_per_size_and_one_figure(tmp_path, capsys):
    status, out, _ = run(capsys, "sweep", "--hidden", "1,3", "--iterations", 50, "--out", tmp_path)
    assert status == 0
    assert "Accuracy for 1 hidden units: " in out and "Accuracy for 3 hidden units: " in out
    if HAVE_MPL:
        assert_png(tmp_path / "sweep_boundaries.png")


def test_datasets_prints_an_accuracy_per_data_set(tmp_path, capsys):
    status, out, _ = run(capsys, "datasets", "--datasets", "noisy_moons,gaussian_quantiles",
                         "--iterations", 1001, "--out", tmp_path, "--backend", "reference")
    assert status == 0
    # The chapter's first two printed noisy_moons costs (section 6.9.3).
    assert "Cost after iteration 0: 0.692992\nCost after iteration 1000: 0.167137" in out
    assert "noisy_moons " in out and "gaussian_quantiles " in out
    if HAVE_MPL:
        assert_png(tmp_path / "datasets_boundaries.png")


@pytest.mark.parametrize("argv, message", [
    (["sweep", "--hidden", "0,2"], "positive integer"),
    (["planar", "--learning-rate", "-1"], "expected a finite number > 0, got -1"),
    (["planar", "--backend", "gpu"], "invalid choice"),
    (["datasets", "--datasets", "spirals"], "unknown data set"),
    (["mnist", "--iterations", "5"], "--iterations is for full-batch training"),
    (["mnist", "--batch-size", "0", "--epochs", "3"], "--epochs is for mini-batches"),
])
def test_invalid_arguments_are_argparse_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "usage: nnfast" in err


def unwritable_paths(tmp_path):
    """--out and --save values that cannot be written: an existing file, a folder under a
    file, a folder for --save, and (Linux) a folder in /proc, which even root cannot create."""
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    cases = [("--save", afile / "m.npz", "expected a folder"),
             ("--save", afile / "sub" / "m.npz", "cannot write into the folder"),
             ("--save", tmp_path, "expected a file name, got a folder")]
    if HAVE_MPL:                     # without matplotlib --out is not used, so not checked
        cases += [("--out", afile, "expected a folder")]
    if Path("/proc/self").is_dir():
        cases += [("--save", "/proc/nope/m.npz", "cannot write into the folder /proc/nope")]
        if HAVE_MPL:
            cases += [("--out", "/proc/x", "cannot write into the folder /proc/x")]
    return cases


def test_planar_unwritable_out_or_save_is_a_one_line_error_before_training(tmp_path, capsys):
    for option, path, message in unwritable_paths(tmp_path):
        argv = ["planar", "--iterations", 20, "--out", tmp_path / "fig", option, path]
        status, out, err = run(capsys, *argv)
        assert status == 2, (option, path, err)
        assert err.startswith(f"nnfast planar: error: {option} {path}: "), err
        assert message in err and err.count("\n") == 1, err
        assert out == "", out        # nothing trained


@pytest.mark.filterwarnings("ignore:training diverged")
def test_planar_save_after_divergence_is_a_one_line_error(tmp_path, capsys):
    status, _, err = run(capsys, "planar", "--iterations", 20, "--learning-rate", 1e308,
                         "--quiet", "--out", tmp_path, "--save", tmp_path / "m.npz")
    assert status == 2 and "training diverged" in err and err.count("\n") == 1, err
    assert not (tmp_path / "m.npz").exists()


# ----------------------------------------------------------------------------------------
# mnist


def write_tiny_mnist(folder, n_train=600, n_test=200, seed=0):
    """A learnable stand-in for MNIST as the four gzip IDX files: digit k is a bright bar
    on rows 2k..2k+3 plus noise."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, k in enumerate(labels):
            images[i, 2 * k:2 * k + 4, 4:24] = 250
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes())
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">II", 2049, n) + labels.tobytes())
    return folder


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    return write_tiny_mnist(tmp_path_factory.mktemp("mnist"))


def test_mnist_on_a_tiny_idx_set_then_predict_round_trip(tiny_mnist, tmp_path, capsys):
    model = tmp_path / "mnist.npz"
    status, out, err = run(capsys, "mnist", "--data", tiny_mnist, "--epochs", 3, "--batch-size", 32,
                           "--hidden", 8, "--learning-rate", 0.5, "--out", tmp_path,
                           "--save", model)
    assert status == 0, err
    assert "600 training / 200 test images" in out
    assert len(cost_lines(out)) == 3
    accuracy = float(out.split("Test accuracy: ")[1].split()[0])
    assert accuracy > 0.9            # the bars are easy: the labels reached the network
    if HAVE_MPL:
        assert_png(tmp_path / "mnist_cost.png")
        assert_png(tmp_path / "mnist_confusion.png")

    # predict: an .npy of shape (n_x, m) and a .csv with one example per row agree with
    # nnfast.predict on the saved parameters.
    from nnfast.datasets import load_mnist
    _, _, X_test, _ = load_mnist(tiny_mnist)
    X = X_test[:, :7]
    from nnfast.io import load
    result = load(model)
    expected = nnfast.predict(result.parameters, X, result.activations)
    np.save(tmp_path / "x.npy", X)
    np.savetxt(tmp_path / "x.csv", X.T, delimiter=",")
    for data in ("x.npy", "x.csv"):
        status, out, err = run(capsys, "predict", model, tmp_path / data)
        assert status == 0, err
        assert [int(v) for v in out.split()] == expected.tolist()
    status, out, _ = run(capsys, "predict", model, tmp_path / "x.csv", "--proba",
                         "--output", tmp_path / "p.npy")
    assert status == 0 and "written to" in out
    P = np.load(tmp_path / "p.npy")
    assert P.shape == (10, 7)
    np.testing.assert_allclose(P.sum(axis=0), 1, rtol=1e-5)


def test_mnist_full_batch_and_quiet(tiny_mnist, tmp_path, capsys):
    status, out, _ = run(capsys, "mnist", "--data", tiny_mnist, "--batch-size", 0,
                         "--iterations", 5, "--dtype", "float64", "--quiet", "--out", tmp_path)
    assert status == 0
    assert cost_lines(out) == []
    assert "full batch, 5 iterations" in out and "Test accuracy: " in out


def test_mnist_optimizer_options_reach_train(tiny_mnist, tmp_path, capsys):
    """--optimizer, --l2 and --schedule are the run's (printed, and the saved model carries
    the optimizer's state); bad values are argparse errors."""
    model = tmp_path / "adam.npz"
    status, out, err = run(capsys, "mnist", "--data", tiny_mnist, "--epochs", 2, "--batch-size", 32,
                           "--hidden", 8, "--learning-rate", 0.01, "--optimizer", "adam", "--l2", 0.001,
                           "--schedule", "cosine", "--quiet", "--out", tmp_path, "--save", model)
    assert status == 0, err
    assert "(cosine); adam, l2 0.001;" in out
    from nnfast.io import load
    saved = load(model)
    assert saved.extra["optimizer"] == "adam" and saved.optimizer_state["epoch"] == 2
    status, out, err = run(capsys, "mnist", "--data", tiny_mnist, "--epochs", 30, "--batch-size", 32,
                           "--hidden", 8, "--learning-rate", 0.5, "--validation-fraction", 0.2,
                           "--patience", 2, "--out", tmp_path)
    assert status == 0, err
    assert "600 training" in out and ", validation cost " in out
    assert "early stop after" in out or len(cost_lines(out)) == 30
    for bad in (["--optimizer", "adagrad"], ["--l2", "-1"], ["--schedule", "linear"],
                ["--validation-fraction", "1"], ["--patience", "0"]):
        with pytest.raises(SystemExit) as exit_:
            run(capsys, "mnist", "--data", tiny_mnist, *bad)
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and bad[0] in err and bad[1] in err, err


def test_mnist_network_and_dropout_options_reach_train(tiny_mnist, tmp_path, capsys):
    """--hidden takes several layers, --activation their activation, --dropout the drop
    rate (train's keep_prob = 1 - rate): the saved model has those layers, and the run is
    the one train gives with keep_prob; bad values are argparse errors."""
    model = tmp_path / "deep.npz"
    status, out, err = run(capsys, "mnist", "--data", tiny_mnist, "--epochs", 2, "--batch-size", 32,
                           "--hidden", "16,8", "--activation", "relu", "--dropout", 0.25, "--quiet",
                           "--out", tmp_path, "--save", model, "--seed", 4)
    assert status == 0, err
    assert "network 784-16-8-10 (relu, softmax)" in out and ", dropout 0.25;" in out
    from nnfast.io import load
    saved = load(model)
    assert saved.layer_dims == (784, 16, 8, 10) and saved.activations == ("relu", "relu", "softmax")
    X, y, _, _ = load_mnist(tiny_mnist, dtype="float32")
    direct = nnfast.train(X, one_hot(y, 10), (784, 16, 8, 10), ("relu", "relu", "softmax"),
                          learning_rate=0.1, batch_size=32, epochs=2, seed=4, keep_prob=0.75)
    for key in direct.parameters:
        np.testing.assert_array_equal(saved.parameters[key], direct.parameters[key], err_msg=key)
    for bad in (["--dropout", "1"], ["--dropout", "0"], ["--activation", "softmax"], ["--hidden", "0"]):
        with pytest.raises(SystemExit) as exit_:
            run(capsys, "mnist", "--data", tiny_mnist, *bad)
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and bad[0] in err and bad[1] in err, err


def test_mnist_on_the_real_files_one_epoch(mnist_dir, tmp_path, capsys):
    status, out, err = run(capsys, "mnist", "--data", mnist_dir, "--epochs", 1, "--quiet",
                           "--out", tmp_path)
    assert status == 0, err
    assert "60000 training / 10000 test images" in out
    assert float(out.split("Test accuracy: ")[1].split()[0]) > 0.9


def assert_speaks_command_line(err):
    """The advice is the command's (--data DIR, NNFAST_MNIST_DIR), not load_mnist's."""
    assert "--data DIR" in err and "NNFAST_MNIST_DIR=DIR" in err, err
    assert "load_mnist" not in err and "path argument" not in err, err


def test_mnist_missing_data_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    status, _, err = run(capsys, "mnist", "--data", tmp_path / "nowhere")
    assert status == 2
    assert err.startswith(f"nnfast mnist: error: MNIST folder {tmp_path / 'nowhere'} (from --data)")
    assert err.count("\n") == 1
    assert "http" in err and "Traceback" not in err
    assert_speaks_command_line(err)

    status, _, err = run(capsys, "mnist", "--data", tmp_path)     # a folder without the files
    assert status == 2 and f"not found in {tmp_path} (from --data)" in err
    assert "train-images-idx3-ubyte[.gz]  (MISSING)" in err
    assert_speaks_command_line(err)

    monkeypatch.delenv("NNFAST_MNIST_DIR", raising=False)
    status, _, err = run(capsys, "mnist")
    assert status == 2
    assert "no --data DIR given and NNFAST_MNIST_DIR is not set" in err and "Traceback" not in err
    assert_speaks_command_line(err)


def test_mnist_unwritable_out_or_save_is_a_one_line_error_before_training(tiny_mnist, tmp_path,
                                                                          capsys):
    for option, path, message in unwritable_paths(tmp_path):
        argv = ["mnist", "--data", tiny_mnist, "--epochs", 1, "--out", tmp_path / "fig",
                option, path]
        status, out, err = run(capsys, *argv)
        assert status == 2, (option, path, err)
        assert err.startswith(f"nnfast mnist: error: {option} {path}: "), err
        assert message in err and err.count("\n") == 1, err
        assert out == "", out        # neither the warm-up nor the training ran


@pytest.mark.filterwarnings("ignore:training diverged")
def test_mnist_divergence_is_a_one_line_error(tiny_mnist, tmp_path, capsys):
    with pytest.warns(RuntimeWarning, match="training diverged") as record:
        status, out, err = run(capsys, "mnist", "--data", tiny_mnist, "--epochs", 1, "--hidden", 8,
                               "--learning-rate", 1e300, "--out", tmp_path, "--save",
                               tmp_path / "m.npz")
    assert sum("training diverged" in str(w.message) for w in record) == 1  # not the warm-up's too
    assert status == 2
    assert err.startswith("nnfast mnist: error: training diverged: ") and err.count("\n") == 1
    assert "--learning-rate" in err
    assert "Cost after epoch 1: nan" in out and "Test accuracy" not in out
    assert not (tmp_path / "m.npz").exists()


# ----------------------------------------------------------------------------------------
# predict errors, compare


def test_predict_errors_are_one_line(tmp_path, capsys):
    X, _ = load_planar_dataset()
    model = tmp_path / "m.npz"
    assert run(capsys, "planar", "--iterations", 20, "--quiet", "--out", tmp_path,
               "--save", model)[0] == 0
    np.save(tmp_path / "rows.npy", X.T)                       # (m, 2): the wrong layout
    status, _, err = run(capsys, "predict", model, tmp_path / "rows.npy")
    assert status == 2 and "transpose" in err and "Traceback" not in err
    status, _, err = run(capsys, "predict", tmp_path / "missing.npz", tmp_path / "rows.npy")
    assert status == 2 and "no such file" in err
    (tmp_path / "x.json").write_text("[]")
    status, _, err = run(capsys, "predict", model, tmp_path / "x.json")
    assert status == 2 and "unknown data format" in err


def test_predict_csv_without_data_or_with_nan_names_the_file_position(tmp_path, capsys,
                                                                      recwarn):
    model = tmp_path / "m.npz"
    assert run(capsys, "planar", "--iterations", 20, "--quiet", "--out", tmp_path,
               "--save", model)[0] == 0
    for text in ("", "\n\n", "# a header only\n"):
        (tmp_path / "x.csv").write_text(text)
        status, _, err = run(capsys, "predict", model, tmp_path / "x.csv")
        assert status == 2 and err.count("\n") == 1, err
        assert err.endswith("the file has no data\n"), err
    assert not [w for w in recwarn if "loadtxt" in str(w.message)]   # NumPy's warning
    # File row 2, column 1 (X[0, 1] once transposed, which predict would report).
    (tmp_path / "x.csv").write_text("1,2\nnan,4\n5,inf\n")
    status, _, err = run(capsys, "predict", model, tmp_path / "x.csv")
    assert status == 2 and err.count("\n") == 1, err
    assert "got nan at row 2, column 1 (counting from 1" in err
    assert "2 NaN or infinite value(s)" in err


@pytest.mark.parametrize("argv, message", [
    (["--repeats", "0"], "argument --repeats: expected a positive integer, got 0"),
    (["--repeats", "-3"], "argument --repeats: expected a positive integer, got -3"),
    (["--min-time", "inf"], "argument --min-time: expected a finite number > 0"),
    (["--min-time", "nan"], "argument --min-time: expected a finite number > 0"),
    (["--min-time", "-1"], "argument --min-time: expected a finite number > 0"),
    (["--out", "AFILE"], "--out AFILE: cannot create the folder"),
])
def test_compare_bad_arguments_are_argparse_errors_before_measuring(argv, message, tmp_path,
                                                                     monkeypatch, capsys):
    from nnfast import compare

    monkeypatch.chdir(tmp_path)
    Path("AFILE").write_text("not a folder")
    monkeypatch.setattr(compare, "run", lambda **kw: pytest.fail(f"measured with {kw}"))
    with pytest.raises(SystemExit) as exc:
        cli.main(["compare", "--quick", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage: nnfast compare" in err and message in err


@pytest.mark.parametrize("kw, error, message", [
    ({"min_time": float("inf")}, ValueError, r"min_time must be a finite number > 0; got inf"),
    ({"repeats": 0}, ValueError, r"repeats must be >= 1; got 0"),
    ({"repeats": 2.5}, ValueError, r"repeats must be a whole number"),
])
def test_compare_run_checks_its_arguments_before_measuring(kw, error, message, monkeypatch):
    from nnfast import compare

    monkeypatch.setattr(compare, "_run_worker", lambda *a: pytest.fail("measured"))
    with pytest.raises(error, match=message):
        compare.run(quick=True, **kw)


def test_compare_writes_into_the_common_output_folder_and_reports_progress(tmp_path,
                                                                           monkeypatch, capsys):
    from nnfast import compare

    assert compare._parser().parse_args([]).out == cli.DEFAULT_OUT
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(compare, "_run_worker", lambda *a: None)     # nothing measured
    compare.run(quick=True)
    assert (tmp_path / cli.DEFAULT_OUT).is_dir() and not list(tmp_path.glob("*.png"))
    err = capsys.readouterr().err
    assert [line.split("]")[0].strip() for line in err.splitlines()] == [
        "[1/4", "[2/4", "[3/4", "[4/4"], err


def test_compare_forwards_its_arguments(monkeypatch, capsys):
    import types

    seen = []
    fake = types.ModuleType("nnfast.compare")
    fake.main = lambda argv: seen.append(argv) or 3
    monkeypatch.setitem(sys.modules, "nnfast.compare", fake)
    monkeypatch.setattr(nnfast, "compare", fake, raising=False)
    assert cli.main(["compare", "--quick", "--out", "x"]) == 3
    assert seen == [["--quick", "--out", "x"]]


def test_compare_without_the_module_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "nnfast.compare", None)
    monkeypatch.delattr(nnfast, "compare", raising=False)
    assert cli.main(["compare"]) == 2
    assert "no nnfast.compare module" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------
# Separate processes: ``python -m nnfast``, and nnfast without matplotlib and tqdm


def _python(code_or_args, tmp_path, *, code=False):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    argv = [sys.executable, "-c", code_or_args] if code else [sys.executable, *code_or_args]
    return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_python_dash_m_nnfast(tmp_path):
    proc = _python(["-m", "nnfast", "planar", "--iterations", "50", "--quiet"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Accuracy of nn:" in proc.stdout
    if HAVE_MPL:                                    # the default --out, created on demand
        assert_png(tmp_path / cli.DEFAULT_OUT / "planar_boundary.png")
    proc = _python(["-m", "nnfast"], tmp_path)
    assert proc.returncode == 2 and "usage: nnfast" in proc.stderr


def test_without_matplotlib_and_tqdm_it_trains_and_says_figures_were_skipped(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None; sys.modules['tqdm'] = None\n"
            "from nnfast.cli import main\n"
            "sys.exit(main(['sweep', '--hidden', '2', '--iterations', '50', '--out', 'figs']))")
    proc = _python(code, tmp_path, code=True)
    assert proc.returncode == 0, proc.stderr
    assert "Accuracy for 2 hidden units" in proc.stdout
    assert proc.stdout.count("figures skipped") == 1
    assert 'pip install "nnfast[plot]"' in proc.stdout
    assert not (tmp_path / "figs").exists()


# ----------------------------------------------------------------------------------------
# progress and plots helpers


def test_progress_bar_is_off_without_a_terminal_and_draws_with_one(monkeypatch, capsys):
    bar = progress.progress_bar(10, unit="epoch")
    assert not bar.active            # pytest captures stdout: not a terminal
    bar(3, 10, 0.5)                  # a silent callback
    bar.close()

    updates = []

    class FakeTqdm:
        def __init__(self, total, **kw):
            self.total, self.n = total, 0

        def update(self, k):
            self.n += k
            updates.append(self.n)

        def set_postfix_str(self, s, refresh=True):
            updates.append(s)

        def close(self):
            updates.append("closed")

    monkeypatch.setattr(progress, "_isatty", lambda stream: True)
    monkeypatch.setattr(progress, "_tqdm", lambda: FakeTqdm)
    assert not progress.progress_bar(10, enabled=False).active      # --quiet
    with progress.progress_bar(10, unit="epoch") as bar:
        assert bar.active
        X, Y = load_planar_dataset()
        nnfast.train(X, Y, [2, 3, 1], ["tanh", "sigmoid"], learning_rate=0.5, batch_size=100,
                     epochs=2, seed=0, callback=bar)
    assert updates[0].startswith("cost=") and updates[1] == 1 and updates[3] == 2
    assert updates[-1] == "closed"


def test_sweep_draws_one_bar_weighted_by_hidden_size(tmp_path, monkeypatch, capsys):
    bars = []

    class FakeTqdm:
        def __init__(self, total, **kw):
            self.total, self.n, self.notes, self.kw = total, 0, [], kw
            bars.append(self)

        def update(self, k):
            self.n += k

        def set_postfix_str(self, s, refresh=True):
            self.notes.append(s)

        def write(self, text, file=None):
            print("bar.write: " + text, file=file)

        def close(self):
            self.closed = True

    monkeypatch.setattr(progress, "_isatty", lambda stream: True)
    monkeypatch.setattr(progress, "_tqdm", lambda: FakeTqdm)
    status, out, _ = run(capsys, "sweep", "--hidden", "1,3", "--iterations", 20, "--out", tmp_path)
    assert status == 0 and len(bars) == 1
    bar = bars[0]
    assert bar.total == (1 + 1) + (3 + 1) and bar.n == bar.total and bar.closed
    assert bar.notes == ["n_h=1 done", "n_h=3 done"]
    assert "{remaining}" in bar.kw["bar_format"]                   # the time left is shown
    # The accuracy lines go above the bar, not through a plain print that it would overwrite.
    assert "bar.write: Accuracy for 3 hidden units: " in out
    bars.clear()
    run(capsys, "sweep", "--hidden", "2", "--iterations", 20, "--out", tmp_path, "--quiet")
    assert bars == []


def test_help_says_when_the_progress_bar_appears(capsys):
    for argv in (["--help"], ["mnist", "--help"], ["sweep", "--help"]):
        with pytest.raises(SystemExit):
            cli.main(argv)
        text = " ".join(capsys.readouterr().out.split())
        assert "progress bar" in text.lower() and "tqdm" in text and "time left" in text, argv


def test_decision_grid_is_the_chapters_and_confusion_matrix_counts():
    X, _ = load_planar_dataset()
    xx, yy = plots.decision_grid(X)
    x_min, x_max = X[0].min() - 1, X[0].max() + 1
    y_min, y_max = X[1].min() - 1, X[1].max() + 1
    ex, ey = np.meshgrid(np.arange(x_min, x_max, 0.01), np.arange(y_min, y_max, 0.01))
    np.testing.assert_array_equal(xx, ex)
    np.testing.assert_array_equal(yy, ey)
    C = plots.confusion_matrix([0, 1, 1, 2, 2, 2], [0, 1, 2, 2, 2, 0], 3)
    np.testing.assert_array_equal(C, [[1, 0, 0], [0, 1, 1], [1, 0, 2]])


def test_chapter_init_with_seed_2_is_the_chapters():
    expected = compiled.initialize_parameters(2, 4, 1)
    got = cli._chapter_init(2, 4, 1, 2)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key])
