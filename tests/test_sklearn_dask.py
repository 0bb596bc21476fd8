"""nnfast.sklearn's estimators in a grid search whose fits run on a Dask cluster (joblib's
dask backend, a real LocalCluster of two worker processes on the loopback interface):
the search completes and its scores equal the same search's on joblib's own processes."""

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="the sklearn extra: pip install 'nnfast[sklearn]'")
distributed = pytest.importorskip("distributed", reason="the dask extra: pip install 'nnfast[dask]'")

import joblib  # noqa: E402  (scikit-learn's dependency, there once sklearn is)
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from nnfast import cluster  # noqa: E402
from nnfast.sklearn import MLPClassifier  # noqa: E402

GRID = {"hidden_layer_sizes": [(16,), (32, 16)], "alpha": [1e-4, 1e-2], "solver": ["sgd", "adam"]}


def _search(backend):
    X, y = load_digits(return_X_y=True)
    # threads=1: a fit's sums (and so its last bits) depend on its thread count, which
    # would otherwise follow each kind of worker's share of the cores.
    estimator = MLPClassifier(max_iter=5, tol=0.0, n_iter_no_change=5, random_state=0, threads=1, batch_size=64)
    search = GridSearchCV(estimator, GRID, cv=3, n_jobs=2)
    with joblib.parallel_config(backend=backend):
        search.fit(X / 16.0, y)
    return search


def test_grid_search_on_a_local_cluster_equals_the_local_search():
    """Both searches run their fits in worker processes that load the kernels from the
    cache (a process that compiled them can differ in Adam's last bits: nnfast.cluster),
    so the scores are compared exactly."""
    local = _search("loky")
    with cluster.environment_kept(), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0") as dask_cluster, distributed.Client(dask_cluster) as client:
        remote = _search("dask")
        workers = set(client.scheduler_info()["workers"])
    assert len(workers) == 2
    assert remote.cv_results_["params"] == local.cv_results_["params"]
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(remote.cv_results_["split2_test_score"], local.cv_results_["split2_test_score"])
    assert remote.best_params_ == local.best_params_
    assert remote.best_score_ > 0.3  # five epochs on the digits: well above chance (0.1)
