"""Activation kernels (section 6.6): ``nnfast.compiled.<g>(Z)`` against ``nnfast.reference.<g>(Z)``."""

import numpy as np

import nnfast

from .common import BACKENDS, DTYPES, SEED, Benchmark

#: Z of shape (n[l], m): the planar hidden layer, and the MNIST hidden layer of 60000 examples.
SHAPES = {"4x400": (4, 400), "25x60000": (25, 60000)}


def _z(shape, dtype):
    """Pre-activations spread over [-6, 6]-ish, where every branch of g is exercised."""
    return (3 * np.random.default_rng(SEED).standard_normal(shape)).astype(dtype)


class Activations(Benchmark):
    """Elementwise g(Z) and g'(Z) for the chapter's hidden-layer activations."""

    params = [["sigmoid", "tanh", "relu"], list(SHAPES), BACKENDS, DTYPES]
    param_names = ["activation", "Z shape", "backend", "dtype"]

    def setup(self, activation, shape, backend, dtype):
        self.Z = _z(SHAPES[shape], dtype)
        self.forward = getattr(getattr(nnfast, backend), activation)
        self.derivative = getattr(getattr(nnfast, backend), f"{activation}_derivative")
        self.forward(self.Z)          # compiles or loads the kernels: never timed
        self.derivative(self.Z)

    def time_forward(self, activation, shape, backend, dtype):
        self.forward(self.Z)

    def time_derivative(self, activation, shape, backend, dtype):
        self.derivative(self.Z)


class Softmax(Benchmark):
    """softmax over axis 0 of Z (C, m), stable (6.31, 6.54): the output layer of 64-32-10 and 784-25-10."""

    params = [["10x1797", "10x60000"], BACKENDS, DTYPES]
    param_names = ["Z shape", "backend", "dtype"]

    def setup(self, shape, backend, dtype):
        self.Z = _z(tuple(int(n) for n in shape.split("x")), dtype)
        self.softmax = getattr(nnfast, backend).softmax
        self.softmax(self.Z)

    def time_softmax(self, shape, backend, dtype):
        self.softmax(self.Z)
