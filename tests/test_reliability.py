"""Reliability: hostile inputs through step() (an error with nothing changed, or exactly the
reference's result), optimizers stepping in parallel Python threads, and no leaks."""

from __future__ import annotations

import contextlib
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastoptim as fo

NAMES = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam", "Adadelta",
         "Lion"]
SHAPES = [(4, 3), (5,), ()]

# Ways to spoil a gradient (given its param). Each is either refused, or a valid gradient.
GARBAGE = {
    "ok": lambda p, rng: rng.standard_normal(p.shape).astype(p.dtype),
    "nonfinite": lambda p, rng: np.full(p.shape, rng.choice([np.nan, np.inf, -np.inf]),
                                        p.dtype),
    "huge": lambda p, rng: np.full(p.shape, 1e30, p.dtype),
    "fortran": lambda p, rng: np.asfortranarray(rng.standard_normal(p.shape).astype(p.dtype)),
    "float64": lambda p, rng: np.ones(p.shape, np.float64),
    "float32": lambda p, rng: np.ones(p.shape, np.float32),
    "float16": lambda p, rng: np.ones(p.shape, np.float16),
    "int": lambda p, rng: np.ones(p.shape, np.int64),
    "complex": lambda p, rng: np.ones(p.shape, np.complex128),
    "object": lambda p, rng: np.empty(p.shape, object),
    "bool": lambda p, rng: np.ones(p.shape, bool),
    "big-endian": lambda p, rng: np.ones(p.shape, p.dtype.newbyteorder(">")),
    "wrong shape": lambda p, rng: np.ones(p.size + 1, p.dtype),
    "transposed": lambda p, rng: np.ones(p.shape[::-1], p.dtype).T,
    "negative strides": lambda p, rng: np.ones(p.shape, p.dtype)[::-1] if p.ndim else
    np.ones((), p.dtype),
    "strided": lambda p, rng: np.ones((2,) + p.shape, p.dtype)[0] if p.ndim == 0 else
    np.ones(p.shape + (2,), p.dtype)[..., 0],
    "the param": lambda p, rng: p,
    "None": lambda p, rng: None,
    "list": lambda p, rng: np.ones(p.shape).tolist(),
    "scalar": lambda p, rng: 1.0,
}


def build(cls, name, dtype, seed):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    opt = cls(params, lr=0.01)
    opt.step([rng.standard_normal(s).astype(dtype) for s in SHAPES])
    return opt, params


def outcome(cls, name, dtype, seed, kinds):
    opt, params = build(cls, name, dtype, seed)
    before = [p.copy() for p in params]
    before_state = opt.state_dict()
    rng = np.random.default_rng(seed + 1)
    grads = [GARBAGE[k](p, rng) for k, p in zip(kinds, params)]
    try:
        with np.errstate(all="ignore"):
            opt.step(grads)
    except (TypeError, ValueError) as e:
        for p, q in zip(params, before):
            assert np.array_equal(p, q, equal_nan=True)
        after = opt.state_dict()
        for i, st in before_state["state"].items():
            for k, v in st.items():
                assert np.array_equal(after["state"][i][k], v, equal_nan=True)
        return type(e)
    return params


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(NAMES), dtype=st.sampled_from([np.float32, np.float64]),
       kinds=st.lists(st.sampled_from(sorted(GARBAGE)), min_size=3, max_size=3),
       seed=st.integers(0, 1000))
def test_garbage_grads_error_with_nothing_changed_or_match_reference(name, dtype, kinds, seed):
    got = outcome(getattr(fo, name), name, dtype, seed, kinds)
    expected = outcome(getattr(fo.reference, name), name, dtype, seed, kinds)
    if isinstance(expected, type):
        assert got is expected
    else:
        assert not isinstance(got, type), got
        for a, b in zip(got, expected):
            assert np.array_equal(a, b, equal_nan=True)


def test_parallel_python_threads_give_sequential_bits():
    """Separate optimizers in separate Python threads (each step itself multi-threaded, the
    GIL released) give exactly the bits of running them one after another."""
    def job(seed, out):
        rng = np.random.default_rng(seed)
        params = [rng.standard_normal(150_001).astype(np.float32) for _ in range(2)]
        opt = getattr(fo, NAMES[seed % len(NAMES)])(params, lr=1e-3)
        for _ in range(10):
            opt.step([rng.standard_normal(150_001).astype(np.float32) for _ in range(2)])
        out[seed] = params

    sequential, parallel = {}, {}
    for seed in range(6):
        job(seed, sequential)
    threads = [threading.Thread(target=job, args=(seed, parallel)) for seed in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for seed in range(6):
        for a, b in zip(parallel[seed], sequential[seed]):
            assert np.array_equal(a, b)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/statm"), reason="Linux only")
def test_no_leak_over_many_constructions_and_steps():
    def churn(n):
        for i in range(n):
            params = [np.zeros(4000, np.float32), np.zeros(7, np.float32)]
            opt = getattr(fo, NAMES[i % len(NAMES)])(params, lr=0.01)
            g = [np.ones(4000, np.float32), np.ones(7, np.float32)]
            opt.step(g)
            opt.step(g)
            opt.state_dict()
            with contextlib.suppress(TypeError):
                opt.step([g[0], g[1].astype(np.float64)])  # an error path too
    churn(300)  # warm up allocator pools
    start = _rss_bytes()
    churn(3000)
    growth = _rss_bytes() - start
    # A leaked optimizer would keep >= 16 KB (a param of 4000 floats): 3000 of them > 48 MB.
    assert growth < 8 * 2**20, f"RSS grew by {growth / 2**20:.1f} MiB"
