"""The dense layer on its own: ``linear_forward`` (6.22.a) and ``linear_backward`` (6.36–6.41)."""

import numpy as np

import nnfast

from .common import BACKENDS, DTYPES, NETWORKS, SEED, Benchmark


class Dense(Benchmark):
    """Layer 1 of each network: A_prev = X (n_x, m), W (n_1, n_x), b (n_1, 1), dZ (n_1, m)."""

    params = [list(NETWORKS), BACKENDS, DTYPES]
    param_names = ["network", "backend", "dtype"]

    def setup(self, network, backend, dtype):
        net = NETWORKS[network]
        n_1, n_x = net.dims[1], net.dims[0]
        rng = np.random.default_rng(SEED)
        self.A_prev = rng.standard_normal((n_x, net.m)).astype(dtype)
        self.W = (rng.standard_normal((n_1, n_x)) / np.sqrt(n_x)).astype(dtype)
        self.b = rng.standard_normal((n_1, 1)).astype(dtype)
        self.dZ = rng.standard_normal((n_1, net.m)).astype(dtype)
        self.module = getattr(nnfast, backend)
        self.time_linear_forward(network, backend, dtype)   # compiles or loads the kernels
        self.time_linear_backward(network, backend, dtype)

    def time_linear_forward(self, network, backend, dtype):
        self.module.linear_forward(self.A_prev, self.W, self.b)

    def time_linear_backward(self, network, backend, dtype):
        self.module.linear_backward(self.dZ, self.A_prev, self.W)
