"""Threads and processes: children started by fork, spawn and forkserver train after a
parallel run in the parent; two Python threads training at once get the results they get
one after the other; the thread count comes from ``threads=``, ``NNFAST_NUM_THREADS`` or
the limits process pools set; Numba's threading layer (GNU OpenMP here) is never started.

The multi-process cases run in a subprocess: a child killed there cannot take pytest
with it, and the parent is a plain new process. No test asserts a time.
"""

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import nnfast
from nnfast import _threads, compiled

REPO = Path(__file__).resolve().parents[1]

#: 64-32-10 softmax on 2000 examples: 2000 x 2368 weights is above PARALLEL_MIN_WORK, so a
#: full-batch pass splits over the threads.
DIMS, ACTS, M = (64, 32, 10), ("tanh", "softmax"), 2000

#: The CPUs this process may run on.
CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((DIMS[0], M))
    return X, np.eye(DIMS[-1])[:, rng.integers(0, DIMS[-1], M)]


def train(threads, **kw):
    X, Y = problem()
    return nnfast.train(X, Y, DIMS, ACTS, learning_rate=0.1, num_iterations=3, seed=0, threads=threads, **kw)


def run_python(*args, env=None, timeout=600):
    """``python ARGS`` in the repository, importing its nnfast, with the variables ``env``
    (None: unset)."""
    environ = dict(os.environ, PYTHONPATH=str(REPO))
    for name, value in (env or {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return subprocess.run([sys.executable, *args], env=environ, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_two_threads_really_split_this_problem():
    n_weights = sum(DIMS[l] * DIMS[l - 1] for l in range(1, len(DIMS)))
    with _threads.using(2):
        assert compiled._n_chunks(M, n_weights) == 2
    with _threads.using(1):
        assert compiled._n_chunks(M, n_weights) == 1


CHILDREN = """
import multiprocessing as mp
import numpy as np
import nnfast, numba
from tests.test_threads import train

def child(queue):
    queue.put(train(2).costs)

if __name__ == "__main__":
    parent = train(2).costs                 # a parallel run first, in the parent
    for method in ("fork", "spawn", "forkserver"):
        ctx = mp.get_context(method)
        queue = ctx.Queue()
        p = ctx.Process(target=child, args=(queue,))
        p.start()
        costs = queue.get(timeout=300)
        p.join(timeout=300)
        print(method, p.exitcode, np.array_equal(costs, parent))
    try:
        print("threading layer:", numba.threading_layer())
    except ValueError as error:               # "Threading layer is not initialized."
        print("threading layer: none")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="fork and forkserver are POSIX start methods")
def test_children_train_after_a_parallel_run_by_every_start_method(tmp_path):
    script = tmp_path / "children.py"
    script.write_text(CHILDREN)
    run = run_python(str(script))
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines() == ["fork 0 True", "spawn 0 True", "forkserver 0 True",
                                       "threading layer: none"], run.stdout + run.stderr


def test_two_python_threads_training_at_once_get_the_results_of_one_after_the_other():
    serial = {t: train(t) for t in (1, 2)}
    results = {}

    def work(name, threads):
        results[name] = train(threads)

    workers = [threading.Thread(target=work, args=((threads, k), threads)) for k in range(2) for threads in (1, 2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for (threads, _), result in results.items():
        assert np.array_equal(result.costs, serial[threads].costs)
        for key, value in result.parameters.items():
            assert np.array_equal(value, serial[threads].parameters[key]), key
    # One thread or two sum in another order: close, not necessarily equal.
    np.testing.assert_allclose(serial[1].costs, serial[2].costs, rtol=1e-12)


def test_the_thread_count_is_the_same_for_predict_and_gradients():
    result = train(2)
    X, Y = problem()
    for threads in (1, 2, 3):
        proba = nnfast.predict_proba(result.parameters, X, ACTS, threads=threads)
        np.testing.assert_allclose(proba, nnfast.predict_proba(result.parameters, X, ACTS), rtol=1e-12)
        assert np.array_equal(nnfast.predict(result.parameters, X, ACTS, threads=threads),
                              result.predict(X, threads=threads))
        cost, grads = nnfast.gradients(X, Y, result.parameters, ACTS, threads=threads)
        again = nnfast.gradients(X, Y, result.parameters, ACTS, threads=threads)
        assert cost == again[0] and all(np.array_equal(grads[k], again[1][k]) for k in grads)


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-2, ValueError), (1.0, TypeError), (True, TypeError),
                                        ("2", TypeError), (np.float64(2), TypeError)])
def test_a_bad_thread_count_is_refused_before_any_kernel_runs(bad, error):
    X, Y = problem()
    params = nnfast.init_parameters(DIMS, ACTS, seed=0)
    calls = [lambda: train(bad),
             lambda: nnfast.gradients(X, Y, params, ACTS, threads=bad),
             lambda: nnfast.predict(params, X, ACTS, threads=bad),
             lambda: nnfast.predict_proba(params, X, ACTS, threads=bad)]
    for call in calls:
        with pytest.raises(error, match=r"threads must be None or a whole number >= 1; got "):
            call()


def test_a_numpy_integer_is_a_thread_count():
    assert np.array_equal(train(np.int64(2)).costs, train(2).costs)


def test_the_setting_is_per_python_thread():
    seen = {}

    def look(name, threads):
        with _threads.using(threads):
            barrier.wait()
            seen[name] = _threads.current()

    barrier = threading.Barrier(2)
    workers = [threading.Thread(target=look, args=(n, n)) for n in (1, 3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert seen == {1: 1, 3: 3}
    assert _threads.current() == _threads.default_threads()


DEFAULT = "from nnfast import _threads; print(_threads.default_threads())"


def default_threads(**env):
    run = run_python("-c", DEFAULT, env={"NNFAST_NUM_THREADS": None, "NUMBA_NUM_THREADS": None, "OMP_NUM_THREADS": None,
                                   "OPENBLAS_NUM_THREADS": None, "MKL_NUM_THREADS": None, **env})
    assert run.returncode == 0, run.stderr
    return int(run.stdout)


def test_the_default_count_follows_the_environment():
    assert default_threads() == CPUS
    assert default_threads(NNFAST_NUM_THREADS="3") == 3                      # nnfast's own: as given
    assert default_threads(NNFAST_NUM_THREADS="3", OMP_NUM_THREADS="1") == 3
    assert default_threads(OMP_NUM_THREADS="1") == 1                         # a pool worker's limit
    assert default_threads(NUMBA_NUM_THREADS="1", MKL_NUM_THREADS="8") == 1
    assert default_threads(OMP_NUM_THREADS="1,1") == 1                       # OpenMP's nested form
    assert default_threads(OMP_NUM_THREADS="64") == CPUS                     # a limit, not a request
    run = run_python("-c", DEFAULT, env={"NNFAST_NUM_THREADS": "two"})
    assert run.returncode != 0 and "NNFAST_NUM_THREADS must be a whole number >= 1; got 'two'" in run.stderr


def test_joblib_workers_share_the_cores():
    joblib = pytest.importorskip("joblib", reason="joblib is not installed (it comes with scikit-learn)")
    run = run_python("-c", "import joblib\n"
                     "from nnfast import _threads\n"
                     "print(joblib.Parallel(n_jobs=2, backend='loky')(\n"
                     "    joblib.delayed(_threads.default_threads)() for _ in range(2)))",
                     env={"NNFAST_NUM_THREADS": None, "NUMBA_NUM_THREADS": None, "OMP_NUM_THREADS": None})
    assert run.returncode == 0, run.stderr
    cpus = joblib.cpu_count()
    assert run.stdout.strip() == str([max(1, cpus // 2)] * 2)


def test_with_pytorch_in_the_process_nnfast_trains_the_same_and_starts_no_openmp():
    pytest.importorskip("torch", reason="PyTorch is not installed (pip install 'nnfast[peers]')")
    code = ("import numpy as np, numba, torch\n"
            "from tests.test_threads import train\n"
            "torch.set_num_threads(2)\n"
            "torch.mm(torch.ones(256, 256), torch.ones(256, 256))   # torch's OpenMP pool is up\n"
            "costs = train(2).costs\n"
            "torch.mm(torch.ones(256, 256), torch.ones(256, 256))\n"
            "print(repr(costs.tolist()))\n"
            "try:\n"
            "    print(numba.threading_layer())\n"
            "except ValueError:\n"
            "    print('no threading layer')\n")
    run = run_python("-c", code)
    assert run.returncode == 0, run.stderr
    costs, layer = run.stdout.splitlines()
    assert eval(costs) == train(2).costs.tolist()
    assert layer == "no threading layer"


DASK = """
from distributed import Client, LocalCluster
from nnfast import _threads

if __name__ == "__main__":
    for processes in (False, True):   # the worker in this process, or in a nanny's process
        with LocalCluster(n_workers=1, threads_per_worker=2, processes=processes, dashboard_address=None) as cluster:
            with Client(cluster) as client:
                print(client.submit(_threads.default_threads, pure=False).result())
"""


def test_dask_workers_share_their_cpus_among_their_task_threads(tmp_path):
    pytest.importorskip("distributed", reason="Dask's distributed is not installed")
    script = tmp_path / "dask_workers.py"
    script.write_text(DASK)
    run = run_python(str(script), env={"NNFAST_NUM_THREADS": None, "NUMBA_NUM_THREADS": None, "OMP_NUM_THREADS": None})
    assert run.returncode == 0, run.stderr
    # In this process: its CPUs over the worker's 2 task threads; in a nanny's worker:
    # the OMP_NUM_THREADS=1 the nanny sets.
    assert run.stdout.split() == [str(max(1, CPUS // 2)), "1"], run.stdout


NUMBA_CAP = """
import numba
from nnfast import _threads
from tests.test_threads import train
before = _threads.current()
try:
    numba.threading_layer()
except ValueError:
    print("not started")
numba.set_num_threads(1)            # starts Numba's layer; nnfast follows the count
print(before, _threads.current(), train(None).costs.tolist() == train(1).costs.tolist())
numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
print(_threads.current(), _threads.current() == min(_threads.default_threads(), numba.config.NUMBA_NUM_THREADS))
"""


def test_numba_set_num_threads_caps_the_default_once_numba_has_started_its_threads():
    run = run_python("-c", NUMBA_CAP, env={"NNFAST_NUM_THREADS": None, "NUMBA_NUM_THREADS": "2",
                                           "OMP_NUM_THREADS": None})
    assert run.returncode == 0, run.stderr
    first, second, third = run.stdout.splitlines()
    assert first == "not started"
    assert second == f"{min(CPUS, 2)} 1 True"
    assert third.endswith("True")
