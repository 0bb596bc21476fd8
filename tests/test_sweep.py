"""nnfast sweep: the grid file (TOML and JSON) and its errors, the sweep's results, and a
real Dask LocalCluster of two worker processes on the loopback interface, shared by the
module's tests, whose results equal the in-process run's bit for bit; the precompile
plugin, the preload and the compile lock; the command line's flags. Runs in well under a
minute once the kernels are in Numba's cache."""

import csv
import inspect
import json
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from nnfast import _precompile, api, cli, grid, plots, reference, sweep
from nnfast.datasets import load_planar_dataset
from test_cli import assert_png, write_tiny_mnist

REPO = Path(__file__).resolve().parents[1]

TOML = """
[data]
name = "planar"

[train]
learning_rate = 0.5
num_iterations = 200

[grid]
hidden = [2, [4, 3]]
optimizer = ["sgd", "adam"]
"""
MAPPING = {"data": {"name": "planar"}, "train": {"learning_rate": 0.5, "num_iterations": 200},
           "grid": {"hidden": [2, [4, 3]], "optimizer": ["sgd", "adam"]}}


def write(folder, name, text):
    path = Path(folder) / name
    path.write_text(text)
    return path


def base(**changes):
    """MAPPING with ``changes`` applied per table: ``base(train={"l2": 1})``; a value of
    None removes the key."""
    mapping = json.loads(json.dumps(MAPPING))
    for table, keys in changes.items():
        if keys is None:
            mapping.pop(table)
            continue
        mapping.setdefault(table, {})
        for key, value in keys.items():
            if value is None:
                mapping[table].pop(key, None)
            else:
                mapping[table][key] = value
    return mapping


# ----------------------------------------------------------------------------------------
# The grid file


def test_toml_and_json_files_give_the_same_grid_and_its_product(tmp_path):
    from_toml = grid.read(write(tmp_path, "g.toml", TOML))
    from_json = grid.read(write(tmp_path, "g.json", json.dumps(MAPPING)))
    assert from_toml.fixed == from_json.fixed and from_toml.varied == from_json.varied
    assert from_toml.data == {"name": "planar", "dtype": "float64"}
    configs = from_toml.configurations()
    # The Cartesian product, the last key varying fastest; every fixed setting in each.
    assert [(c["hidden"], c["optimizer"]) for c in configs] == [
        ((2,), "sgd"), ((2,), "adam"), ((4, 3), "sgd"), ((4, 3), "adam")]
    assert all(c["learning_rate"] == 0.5 and c["num_iterations"] == 200 for c in configs)
    # The defaults that make a run reproducible anywhere.
    assert all(c["seed"] == 0 and c["threads"] == 1 and c["init"] == "init_parameters"
               and c["hidden_activation"] == "tanh" for c in configs)
    assert from_toml.label(configs[2]) == "hidden=4-3, optimizer=sgd"


def test_a_varied_default_leaves_the_fixed_settings_and_a_grid_may_have_one_configuration():
    g = grid.from_mapping(base(grid={"seed": [1, 2], "optimizer": None}))
    assert "seed" not in g.fixed and g.varied["seed"] == (1, 2)
    assert len(g.configurations()) == 4
    only = grid.from_mapping(base(grid=None, train={"hidden": [8, 4]}))
    assert only.configurations() == [only.fixed] and only.fixed["hidden"] == (8, 4)


def test_grid_keys_are_train_arguments_and_the_sweeps_own():
    train = set(inspect.signature(api.train).parameters)
    # Every argument of train is either a grid key or refused with the reason: a new
    # argument of train fails this test until the grid knows how to check it.
    assert train == set(grid.ARGUMENTS) | set(grid.NOT_IN_A_FILE)
    assert set(grid.CHECKS) == set(grid.ARGUMENTS) | set(grid.SWEEP_KEYS)


def test_every_kind_of_value_is_normalised():
    g = grid.from_mapping({"data": {"name": "noisy_moons", "seed": 3}, "train": {
        "hidden": 3, "learning_rate": 1, "batch_size": 50.0, "epochs": 2, "shuffle": False, "dtype": "float32",
        "optimizer": "momentum", "l2": 0, "schedule": "cosine", "clip_norm": 5, "validation_fraction": 0.25,
        "patience": 2, "min_delta": 0.001, "class_weight": {"0": 1, "1": 2.5}, "keep_prob": 0.9,
        "backend": "reference", "math": "libm", "init": "chapter", "hidden_activation": "relu"}})
    c, = g.configurations()
    assert c["hidden"] == (3,) and c["learning_rate"] == 1.0 and c["batch_size"] == 50
    assert c["class_weight"] == {0: 1.0, 1: 2.5} and c["dtype"] == "float32"
    assert grid.format_value(c["class_weight"]) == "0:1;1:2.5"
    assert g.data == {"name": "noisy_moons", "seed": 3, "dtype": "float64"}


BAD = [
    # (what is changed, error type, words the message must hold)
    (base(train={"learnig_rate": 1}), ValueError, ["train.learnig_rate: unknown key", "did you mean 'learning_rate'"]),
    (base(train={"layer_dims": [2, 4, 1]}), ValueError, ["train.layer_dims: not a grid file key", "hidden = [...]"]),
    (base(train={"sample_weight": [1]}), ValueError, ["train.sample_weight", "use class_weight"]),
    (base(train={"learning_rate": -1}), ValueError, ["train.learning_rate", "finite number > 0", "got -1"]),
    (base(train={"learning_rate": "fast"}), TypeError, ["train.learning_rate", "positive real number", "'fast'"]),
    (base(grid={"hidden": [2, [4, 0]]}), ValueError, ["grid.hidden[1]", "hidden[1] must be >= 1; got 0"]),
    (base(grid={"hidden": 4}), TypeError, ["grid.hidden", "non-empty list", "got 4"]),
    (base(grid={"hidden": []}), TypeError, ["grid.hidden", "non-empty list", "got []"]),
    (base(grid={"optimizer": ["sgd", "adagrad"]}), ValueError, ["grid.optimizer[1]", "'adam'", "'adagrad'"]),
    (base(grid={"optimizer": ["sgd", 3]}), TypeError, ["grid.optimizer[1]", "got 3"]),
    (base(grid={"learning_rate": [0.1]}), ValueError, ["grid.learning_rate: also in [train]"]),
    (base(grid={"hidden_activation": ["tanh", "softmax"]}), ValueError, ["grid.hidden_activation[1]", "'softmax'"]),
    (base(grid={"init": ["chapter", "he"]}), ValueError, ["grid.init[1]", "'chapter'", "'he'"]),
    (base(train={"threads": 0}), ValueError, ["train.threads", "got 0"]),
    (base(train={"validation_fraction": 1.5}), ValueError, ["train.validation_fraction", "(0, 1)", "1.5"]),
    (base(train={"class_weight": {"a": 1}}), ValueError, ["train.class_weight", "'a'"]),
    (base(train={"keep_prob": [0.5, 0.9]}), ValueError,
     ["configuration 0 (hidden=2, optimizer=sgd)", "one per hidden layer (1); got 2"]),
    (base(train={"batch_size": 32}), ValueError, ["configuration 0", "batch_size = 32 needs epochs"]),
    (base(train={"epochs": 3}), ValueError, ["configuration 0", "epochs = 3 is for mini-batches"]),
    (base(train={"num_iterations": None}), ValueError, ["num_iterations is missing"]),
    (base(train={"init": "chapter", "seed": 2**32}), ValueError, ["RandomState(seed)", "4294967296"]),
    (base(grid={"hidden": None}), ValueError, ["hidden: missing"]),
    (base(train={"learning_rate": None}), ValueError, ["learning_rate: missing"]),
    (base(data=None), ValueError, ["data: missing"]),
    (base(data={"name": None}), ValueError, ["data.name: missing", "planar", "mnist"]),
    (base(data={"name": "spirals"}), ValueError, ["data.name", "noisy_moons", "'spirals'"]),
    (base(data={"path": "/data"}), ValueError, ["data.path: only for mnist", "name = 'planar'"]),
    (base(data={"seed": 1}), ValueError, ["data.seed: only for the extra data sets", "blobs"]),
    (base(data={"dtype": "float16"}), ValueError, ["data.dtype", "float32 or float64", "float16"]),
    (base(data={"name": "mnist", "train_size": 0}), ValueError, ["data.train_size", "got 0"]),
    (base(data={"colour": 1}), ValueError, ["data.colour: unknown key", "train_size"]),
    ({**MAPPING, "model": {}}, ValueError, ["model: unknown table"]),
    (base(train={"hidden": 2}, grid=None) | {"grid": [1]}, TypeError, ["grid: expected a table", "[1]"]),
]


@pytest.mark.parametrize("mapping, kind, words", BAD, ids=[" ".join(w[:1]) for _, _, w in BAD])
def test_a_bad_grid_is_refused_naming_the_key_the_expected_and_the_given_value(mapping, kind, words):
    with pytest.raises(kind) as exc:
        grid.from_mapping(mapping, source="g.toml")
    message = str(exc.value)
    assert message.startswith("g.toml: "), message
    for w in words:
        assert w in message, (w, message)


def test_file_errors_name_the_file_and_the_fault(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"g\.yaml: expected a \.toml or a \.json grid file; got the suffix '\.yaml'"):
        grid.read(tmp_path / "g.yaml")
    with pytest.raises(FileNotFoundError, match="no such grid file"):
        grid.read(tmp_path / "missing.toml")
    with pytest.raises(ValueError, match=r"g\.toml: not valid TOML: .*line 2"):
        grid.read(write(tmp_path, "g.toml", "[data]\nname = planar\n"))
    with pytest.raises(ValueError, match=r"g\.json: not valid JSON: .*line 1 column 2"):
        grid.read(write(tmp_path, "g.json", "{data: 1}"))
    # Python 3.10 has no tomllib: tomli, the same parser, or a clear message.
    try:
        import tomllib as parser  # 3.11+: stands in for tomli
    except ImportError:           # 3.10: tomli itself, which TOML grid files need there
        import tomli as parser
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", parser)
    assert grid.read(write(tmp_path, "h.toml", TOML)).varied["optimizer"] == ("sgd", "adam")
    monkeypatch.setitem(sys.modules, "tomli", None)
    with pytest.raises(ValueError, match=r"needs the tomli package \(pip install tomli\), or write the grid as JSON"):
        grid.read(write(tmp_path, "h.toml", TOML))
    assert grid.read(write(tmp_path, "h.json", json.dumps(MAPPING))).varied["optimizer"] == ("sgd", "adam")


# ----------------------------------------------------------------------------------------
# One configuration, and the reports


def test_chapter_init_is_the_chapters_and_a_run_is_trains():
    np.testing.assert_equal(sweep.chapter_parameters((2, 4, 1), 2), reference.initialize_parameters(2, 4, 1))
    data = sweep.load_data({"name": "planar", "dtype": "float64"})
    config, = grid.from_mapping(base(train={"init": "chapter", "seed": 2}, grid={"hidden": [[4]], "optimizer": None})
                                ).configurations()
    outcome = sweep.run_one(config, data)
    X, Y = load_planar_dataset()
    expected = reference.nn_model(X, Y, 4, num_iterations=200, learning_rate=0.5)
    assert outcome.parameters.keys() == expected.keys()
    for key in expected:
        np.testing.assert_allclose(outcome.parameters[key], expected[key], rtol=1e-10, atol=1e-13)
    predictions = reference.predict(expected, X)
    assert outcome.train_accuracy == float(np.mean(predictions == Y)) and outcome.test_accuracy is None


def test_a_rule_that_needs_the_data_fails_naming_the_configuration():
    data = sweep.load_data({"name": "planar", "dtype": "float64"})
    config, = grid.from_mapping(base(train={"validation_fraction": 0.0001}, grid={"optimizer": None, "hidden": [2]})
                                ).configurations()
    with pytest.raises(ValueError, match=r"configuration .*validation_fraction=0.0001, hidden=2: validation_fraction must be in \(0, 1\)"):
        sweep.run_one(config, data)


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    return write_tiny_mnist(tmp_path_factory.mktemp("mnist"), n_train=300, n_test=100)


def test_mnist_from_a_folder_beside_the_grid_file_has_a_test_accuracy(tiny_mnist, tmp_path):
    g = grid.read(write(tiny_mnist.parent, "mnist.json", json.dumps({
        "data": {"name": "mnist", "path": tiny_mnist.name, "train_size": 200},
        "train": {"learning_rate": 0.1, "batch_size": 50, "epochs": 2},
        "grid": {"hidden": [8, 16]}})))
    data = sweep.load_data(g.data, g.folder)
    assert data.X.shape == (784, 200) and data.X.dtype == np.float32 and data.X_test.shape == (784, 100)
    results = list(sweep.run(g.configurations(), data))
    assert [r.index for r in results] == [0, 1] and all(r.where == "local" for r in results)
    table = sweep.rows(g, results)
    assert [row["hidden"] for row in table] == ["8", "16"]
    assert all(0.3 < row["test_accuracy"] <= 1 for row in table)  # learnable: chance is 0.1
    assert "test acc" in sweep.format_table(g, results).splitlines()[0]
    path = sweep.write_csv(tmp_path / "sweep.csv", g, results)
    with open(path) as f:
        written = list(csv.DictReader(f))
    assert [float(row["test_accuracy"]) for row in written] == [row["test_accuracy"] for row in table]
    assert float(written[1]["final_cost"]) == results[1].outcome.final_cost  # exact, not rounded
    if plots.available():
        assert_png(sweep.save_accuracies(tmp_path / "acc.png", g, results))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        sweep.load_data({**g.data, "path": "nowhere"}, tmp_path)


# ----------------------------------------------------------------------------------------
# The compile lock and the plugin


def test_the_compile_lock_makes_a_second_precompile_wait(caplog):
    distributed = pytest.importorskip("distributed", reason="the dask extra: pip install 'nnfast[dask]'")
    del distributed
    from nnfast import cluster

    caplog.set_level(logging.INFO, logger="nnfast.cluster")
    before = len(cluster.history())
    done = []
    with cluster.compile_lock() as waited:
        assert waited == 0.0
        worker = threading.Thread(target=lambda: done.append(cluster.precompile(("float64",))))
        worker.start()
        deadline = time.monotonic() + 60
        while not any("waiting for another process's compile" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the second precompile never reached the lock"
            time.sleep(0.01)
        assert worker.is_alive() and len(cluster.history()) == before  # it waits for the lock
    worker.join(60)
    (record,), = done
    assert record.dtype == "float64" and record.waited > 0
    assert cluster.history()[-1] == (record,)


def test_a_child_compiles_once_for_these_sources_and_this_cpu_as_the_record_says():
    pytest.importorskip("distributed", reason="the dask extra: pip install 'nnfast[dask]'")
    from nnfast import _cache, cluster

    folder, = _cache.cache_folders()
    record = folder / cluster.RECORD_NAME
    cluster.precompile(("float64",))
    assert "float64" in json.loads(record.read_text())["dtypes"]
    (again,), = [cluster.precompile(("float64",))]
    assert again.seconds == 0.0 and not again.compiled     # no child: the record says it is done
    stale = json.loads(record.read_text())
    stale["build"]["sources"] = "0" * 64                    # as if a kernel file had changed
    record.write_text(json.dumps(stale))
    (child,), = [cluster.precompile(("float64",))]
    assert child.seconds > 0                                # a child ran, and recorded it again
    assert json.loads(record.read_text())["build"]["sources"] == _cache.source_stamp()


@pytest.fixture(scope="module")
def dask_client():
    """A Client of a LocalCluster of two worker processes, one thread each, on 127.0.0.1."""
    distributed = pytest.importorskip("distributed", reason="the dask extra: pip install 'nnfast[dask]'")
    from nnfast import cluster

    # Without environment_kept the nanny's OMP_NUM_THREADS=1 & co. would stay in this
    # process's environment, for every later test's subprocesses.
    with cluster.environment_kept(), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0") as local, distributed.Client(local) as client:
        yield client


def in_a_new_process(mapping):
    """``sweep.run`` of the grid ``mapping`` in this process's place: in a new process,
    which loads the kernels from the cache as the workers do. (A process that compiled
    the kernels itself can differ in the last bits of Adam's numbers: see
    nnfast.cluster. This one may have, earlier in the session.)"""
    code = ("import json, pickle, sys\nfrom nnfast import grid, sweep\n"
            "g = grid.from_mapping(json.loads(sys.argv[1]))\n"
            "results = list(sweep.run(g.configurations(), sweep.load_data(g.data)))\n"
            "sys.stdout.buffer.write(pickle.dumps(results))\n")
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(mapping)], cwd=REPO, capture_output=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    return pickle.loads(proc.stdout)


def test_on_the_cluster_every_number_equals_the_in_process_run(dask_client):
    from nnfast import cluster

    # Mini-batches: the shuffles and the validation split are drawn from the seed too.
    mapping = {"data": {"name": "planar"},
               "train": {"learning_rate": 0.3, "epochs": 20, "validation_fraction": 0.2},
               "grid": {"hidden": [2, [4, 3]], "optimizer": ["sgd", "adam"], "batch_size": [64, 400]}}
    g = grid.from_mapping(mapping)
    configs = g.configurations()
    cluster.prepare_workers(dask_client, ["float64"])  # as nnfast sweep does; fills the cache
    here = in_a_new_process(mapping)
    there = sorted(sweep.run(configs, sweep.load_data(g.data), dask_client), key=lambda r: r.index)
    assert [r.index for r in there] == list(range(len(configs))) == [r.index for r in here]
    assert all(r.where == "local" for r in here) and all(r.where.startswith("tcp://127.0.0.1:") for r in there)
    for a, b in zip(here, there):
        assert (a.outcome.final_cost, a.outcome.train_accuracy) == (b.outcome.final_cost, b.outcome.train_accuracy)
        for key in a.outcome.parameters:
            np.testing.assert_array_equal(a.outcome.parameters[key], b.outcome.parameters[key])
    assert len({r.outcome.final_cost for r in here}) == len(configs)  # the settings reached train


def test_a_failing_configuration_on_the_cluster_raises_its_error(dask_client):
    configs = grid.from_mapping(base(train={"validation_fraction": 0.0001})).configurations()
    data = sweep.load_data({"name": "planar", "dtype": "float64"})
    with pytest.raises(ValueError, match=r"configuration .*validation_fraction=0.0001, hidden=[0-9-]+, optimizer=[a-z]+: validation_fraction must be"):
        list(sweep.run(configs, data, dask_client))


def test_the_plugin_runs_on_the_workers_and_on_a_worker_that_starts_later_with_the_preload(dask_client):
    from nnfast import cluster

    report = cluster.prepare_workers(dask_client, ["float64"])
    assert len(report) == 2
    assert all([p.dtype for p in calls] == ["float64"] for calls in report.values())
    # The lock: of workers that found the cache cold, only one compiled.
    assert sum(p.compiled for calls in report.values() for p in calls) <= 1
    # The record: after one child compiled (or found) them, the other worker started none.
    assert sum(p.seconds > 0 for calls in report.values() for p in calls) <= 1
    assert "2 worker(s); float64 kernels" in cluster.describe(report)
    # A worker started by hand, as the README says, joins after the plugin was registered:
    # the preload precompiles every dtype before it joins, then the plugin runs.
    address = dask_client.scheduler.address
    worker = subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--preload", "nnfast.cluster",
                               "--nthreads", "1", "--no-nanny", "--name", "by-hand"], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        dask_client.wait_for_workers(3, timeout=120)
        by_hand, = [a for a, w in dask_client.scheduler_info(n_workers=-1)["workers"].items() if w["name"] == "by-hand"]
        calls = dask_client.run(cluster.history, workers=[by_hand])[by_hand]
        assert [[p.dtype for p in call] for call in calls] == [list(_precompile.DTYPES), ["float64"]]
    finally:
        worker.terminate()
        worker.wait(30)
    dask_client.unregister_worker_plugin(cluster.PLUGIN_NAME)


# ----------------------------------------------------------------------------------------
# The command line


def run(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def read_rows(path, drop=("seconds", "worker")):
    with open(path) as f:
        return [{k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(f)]


def test_cli_grid_on_the_scheduler_and_here_write_the_same_table(dask_client, tmp_path, capsys):
    path = write(tmp_path, "g.toml", TOML)
    status, out, err = run(capsys, "sweep", "--grid", path, "--out", tmp_path / "there",
                           "--scheduler", dask_client.scheduler.address)
    assert status == 0, err
    assert "Dask: the cluster at tcp://127.0.0.1:" in out and "2 worker(s); float64 kernels" in out
    assert "4 configuration(s) on planar (400 training examples), on Dask" in out
    assert "fixed: hidden_activation=tanh, init=init_parameters, seed=0, threads=1" in out
    assert out.count("] #") == 4                                # a line per configuration as it finishes
    header = next(line for line in out.splitlines() if line.startswith("#"))
    assert header.split() == ["#", "hidden", "optimizer", "final", "cost", "train", "acc", "seconds", "worker"]
    # In a new process, as the command runs (see in_a_new_process), after the workers
    # filled the cache.
    proc = subprocess.run([sys.executable, "-m", "nnfast", "sweep", "--grid", str(path), "--out", "here", "--quiet"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "4 configuration(s) on planar (400 training examples), in this process" in proc.stdout
    assert "] #" not in proc.stdout and "worker" not in proc.stdout  # --quiet: the table only
    here, there = read_rows(tmp_path / "here" / "sweep.csv"), read_rows(tmp_path / "there" / "sweep.csv")
    assert len(here) == 4 and here == there
    assert list(here[0]) == ["index", "hidden_activation", "init", "seed", "threads", "math", "learning_rate",
                             "num_iterations", "hidden", "optimizer", "final_cost", "train_accuracy", "test_accuracy"]
    if plots.available():
        assert_png(tmp_path / "there" / "sweep_accuracy.png")


def test_cli_chapter_sweep_on_a_local_cluster_prints_the_in_process_accuracies(tmp_path, capsys):
    pytest.importorskip("distributed", reason="the dask extra: pip install 'nnfast[dask]'")
    argv = ["sweep", "--hidden", "1,3", "--iterations", 100, "--out", tmp_path]
    _, here, _ = run(capsys, *argv)
    environment = dict(os.environ)
    status, there, err = run(capsys, *argv, "--local", 1)
    assert status == 0, err
    assert dict(os.environ) == environment  # the nanny's OMP_NUM_THREADS=1 & co. undone
    assert "Dask: a LocalCluster on 127.0.0.1; 1 worker(s); float64 kernels" in there

    def accuracies(out):
        return sorted(line.split("  (")[0] for line in out.splitlines() if line.startswith("Accuracy for"))
    assert accuracies(there) == accuracies(here) and len(accuracies(here)) == 2


@pytest.mark.parametrize("extra, message", [
    (["--hidden", "2"], "--hidden: options of the chapter's sweep; with --grid"),
    (["--iterations", "5", "--seed", "1"], "--iterations, --seed: options of the chapter's sweep"),
    (["--backend", "reference"], "--backend: options of the chapter's sweep"),
    (["--local", "2", "--scheduler", "tcp://127.0.0.1:1"], "not allowed with argument"),
    (["--local", "0"], "expected a positive integer, got 0"),
])
def test_cli_flag_errors_are_argparse_errors(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as exc:
        cli.main(["sweep", "--grid", str(write(tmp_path, "g.toml", TOML)), *extra])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_bad_grid_file_is_a_one_line_error(tmp_path, capsys):
    path = write(tmp_path, "g.toml", TOML.replace("learning_rate = 0.5", "learning_rate = 0"))
    status, out, err = run(capsys, "sweep", "--grid", path, "--out", tmp_path)
    assert status == 2 and out == ""
    assert err == f"nnfast sweep: error: {path}: train.learning_rate: learning_rate must be a finite number > 0; got 0\n"


def test_cli_a_configuration_that_fails_on_its_data_is_a_one_line_error(tmp_path, capsys):
    path = write(tmp_path, "g.toml", TOML.replace("num_iterations = 200", "num_iterations = 200\nvalidation_fraction = 0.0001"))
    status, out, err = run(capsys, "sweep", "--grid", path, "--out", tmp_path)
    assert status == 2 and "Traceback" not in err
    assert err.startswith(f"nnfast sweep: error: {path}: configuration ") and "(0 examples)" in err


def test_without_dask_nnfast_and_its_sweep_work_and_the_flags_say_what_to_install(tmp_path):
    hide = "import sys; sys.modules['distributed'] = None; sys.modules['dask'] = None\n"
    code = hide + ("from nnfast.cli import main\n"
                   "status = main(['sweep', '--hidden', '2', '--iterations', '50', '--out', 'figs'])\n"
                   "assert status == 0, status\n"
                   "sys.exit(main(['sweep', '--local', '2']))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Accuracy for 2 hidden units" in proc.stdout
    assert 'nnfast sweep: error: --local 2 runs the sweep on Dask, which is not installed: nnfast.cluster needs ' \
           'Dask\'s distributed scheduler: pip install "nnfast[dask]"' in proc.stderr
