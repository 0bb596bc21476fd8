"""Whole gradient steps and training runs through the general API (``nnfast.gradients``,
``nnfast.train``), on the chapter's three networks (see ``common.NETWORKS``)."""

import nnfast

from .common import (BACKENDS, BATCH_SIZE, DTYPES, NETWORKS, SEED, Benchmark, problem, train,
                     warm_train)


class _Network(Benchmark):
    params = [list(NETWORKS), BACKENDS, DTYPES]
    param_names = ["network", "backend", "dtype"]

    def setup(self, network, backend, dtype):
        self.X, self.Y = problem(network, dtype)
        if backend == "compiled":
            warm_train(network, dtype)


class Gradients(_Network):
    """One cost-and-gradient evaluation at the initial weights (forward + backward, 6.22, 6.35–6.41)."""

    def setup(self, network, backend, dtype):
        super().setup(network, backend, dtype)
        net = NETWORKS[network]
        self.parameters = nnfast.init_parameters(net.dims, net.activations, seed=SEED, dtype=dtype)

    def time_gradients(self, network, backend, dtype):
        nnfast.gradients(self.X, self.Y, self.parameters, NETWORKS[network].activations, backend=backend)


class TrainFullBatch(_Network):
    """``train`` for the network's fixed number of full-batch iterations (planar 200,
    digits 10, mnist 2), validation and copies included."""

    def time_train(self, network, backend, dtype):
        train(network, backend, dtype, self.X, self.Y, num_iterations=NETWORKS[network].iterations)

    def peakmem_train(self, network, backend, dtype):
        train(network, backend, dtype, self.X, self.Y, num_iterations=NETWORKS[network].iterations)


class TrainMiniBatchEpoch(_Network):
    """One epoch of shuffled mini-batches of 64 examples."""

    def time_epoch(self, network, backend, dtype):
        train(network, backend, dtype, self.X, self.Y, batch_size=BATCH_SIZE, epochs=1)

    def peakmem_epoch(self, network, backend, dtype):
        train(network, backend, dtype, self.X, self.Y, batch_size=BATCH_SIZE, epochs=1)
