"""The numerical contract: the native kernels give the same bits as the NumPy reference, for
every optimizer option that changes the formula, float32 and float64, on every ISA path the
CPU supports and for 1 and 2 threads, at sizes around every vector width."""

from __future__ import annotations

import numpy as np
import pytest

import fastoptim as fo
from conftest import ISAS, assert_native_matches_reference, running_on

# (optimizer name, options): every combination of options that selects a different code path
# in the kernels (flags) or a different coefficient (e.g. beta1 < 0.5 flips torch's lerp).
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.01, maximize=True)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.5), eps=1e-3, amsgrad=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.5, maximize=True)),
]


@pytest.mark.parametrize("name, options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_native_equals_reference_bitwise(name, options, dtype):
    assert_native_matches_reference(name, options, dtype)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nonfinite_and_extreme_values_give_the_same_bits(name, dtype):
    """inf, NaN, huge, tiny and subnormal values take the same path on every ISA as in NumPy."""
    special = np.array([0.0, -0.0, 1e-45, -1e-40, 1e-30, 3e38, -3e38, np.inf, -np.inf, np.nan,
                        1.0, -1.0, 1e5, 1e-5, 7.0, -2.5, 0.5], dtype=dtype)
    rng = np.random.default_rng(1)
    start = np.tile(special, 5)
    grad = rng.permutation(start)
    options = dict(lr=0.1, momentum=0.9) if name == "SGD" else dict(lr=0.1, amsgrad=True)

    def final(cls, isa):
        p = start.copy()
        opt = cls([p], **options)
        with running_on(isa, 1), np.errstate(all="ignore"):
            for _ in range(3):
                opt.step([grad])
        return p

    expected = final(getattr(fo.reference, name), fo.isa())
    for isa in ISAS:
        assert np.array_equal(final(getattr(fo, name), isa), expected, equal_nan=True), isa


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Lion"])
def test_mixed_dtypes_in_one_group(name):
    """float32 and float64 params in one group: one native call, each tensor in its dtype."""
    def run(cls):
        rng = np.random.default_rng(5)
        params = [rng.standard_normal(100_003).astype(np.float32), rng.standard_normal(77),
                  rng.standard_normal((3, 4)).astype(np.float32)]
        opt = cls(params, lr=0.01)
        for _ in range(3):
            opt.step([rng.standard_normal(p.shape).astype(p.dtype) for p in params])
        return params

    expected = run(getattr(fo.reference, name))
    for isa in ISAS:
        with running_on(isa, 2):
            for a, b in zip(run(getattr(fo, name)), expected):
                assert a.dtype == b.dtype and np.array_equal(a, b)
