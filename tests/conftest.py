"""Shared helpers: every ISA path and thread count, restored after each test."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest

import fastoptim as fo

ISAS = fo.available_isas()
THREADS = (1, 2)

# Sizes around every vector width in use (SSE2 4/2 lanes, AVX2 8/4, AVX-512 16/8 for
# float32/float64), plus large odd sizes: 100_003 elements exceed twice the grain size, so with
# 2 threads the step really is split across threads, mid-array.
SIZES = (0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 1001, 100_003)


@contextlib.contextmanager
def running_on(isa: str, threads: int) -> Iterator[None]:
    before_isa, before_threads = fo.isa(), fo.get_num_threads()
    fo.use_isa(isa)
    fo.set_num_threads(threads)
    try:
        yield
    finally:
        fo.use_isa(before_isa)
        fo.set_num_threads(before_threads)


@pytest.fixture(autouse=True)
def _restore_runtime() -> Iterator[None]:
    """No test leaks an ISA or thread setting into the next."""
    before_isa, before_threads = fo.isa(), fo.get_num_threads()
    yield
    fo.use_isa(before_isa)
    fo.set_num_threads(before_threads)


def random_params(rng: np.random.Generator, sizes, dtype) -> list[np.ndarray]:
    return [rng.standard_normal(n).astype(dtype) for n in sizes]


def grads_like(rng: np.random.Generator, params, scale: float = 1.0) -> list[np.ndarray]:
    return [(rng.standard_normal(p.shape) * scale).astype(p.dtype) for p in params]


def _run(cls, options, dtype, steps, seed, scale):
    rng = np.random.default_rng(seed)
    params = random_params(rng, SIZES, dtype)
    opt = cls(params, **options)
    for _ in range(steps):
        opt.step(grads_like(rng, params, scale))
    return params, opt


def assert_native_matches_reference(name, options, dtype, steps=4, seed=0, scale=1.0):
    """fo.<name>(**options) on every ISA and thread count == fo.reference.<name>, bit for bit
    (params and every state buffer), over `steps` steps on params of all of SIZES at once."""
    ref_params, ref_opt = _run(getattr(fo.reference, name), options, dtype, steps, seed, scale)
    for isa in ISAS:
        for threads in THREADS:
            with running_on(isa, threads):
                params, opt = _run(getattr(fo, name), options, dtype, steps, seed, scale)
            for i, (p, r) in enumerate(zip(params, ref_params)):
                assert np.array_equal(p, r), f"{isa}/{threads} threads: param {i} differs"
                ref_state = ref_opt.state[r]
                assert set(opt.state[p]) == set(ref_state)
                for key, buf in opt.state[p].items():
                    if key != "step":
                        assert np.array_equal(buf, ref_state[key]), (
                            f"{isa}/{threads} threads: state {key} of param {i} differs")
