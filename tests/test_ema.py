"""EMA of params: native == reference bit for bit on every ISA, torch's formula, state dicts,
and the evaluation swap."""

from __future__ import annotations

import numpy as np
import pytest

import fastoptim as fo
from conftest import ISAS, SIZES, THREADS, running_on


def run(cls, decay, dtype, steps=5):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(n).astype(dtype) for n in SIZES]
    ema = cls(params, decay=decay)
    for _ in range(steps):
        for p in params:
            p += rng.standard_normal(p.shape).astype(dtype)
        ema.update()
    return ema


@pytest.mark.parametrize("decay", [0.999, 0.3, 0.0, 1.0])  # 0.3: torch's other lerp branch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_native_equals_reference(decay, dtype):
    expected = run(fo.reference.EMA, decay, dtype).averages
    for isa in ISAS:
        for threads in THREADS:
            with running_on(isa, threads):
                got = run(fo.EMA, decay, dtype).averages
            for a, b in zip(got, expected):
                assert np.array_equal(a, b), (isa, threads)


def test_formula():
    rng = np.random.default_rng(1)
    p = rng.standard_normal(50)
    ema = fo.EMA([p], decay=0.9)
    expected = p.copy()
    w = 1.0 - 0.9  # the weight, computed in float64 as the class does
    for _ in range(20):
        p += rng.standard_normal(50)
        ema.update()
        expected = expected + w * (p - expected)
    assert np.array_equal(ema.averages[0], expected)
    assert ema.num_updates == 20


def test_matches_torch_ema():
    torch = pytest.importorskip("torch")
    from torch.optim.swa_utils import get_ema_multi_avg_fn

    rng = np.random.default_rng(2)
    q = rng.standard_normal(30)
    ours = fo.EMA([q], decay=0.9)
    theirs = [torch.tensor(q.copy())]
    avg_fn = get_ema_multi_avg_fn(0.9)
    for _ in range(20):
        q += rng.standard_normal(30)
        ours.update()
        avg_fn(theirs, [torch.tensor(q.copy())], None)
    # torch's foreach lerp may fuse the multiply-add: a few ulp (2.2e-16) per update
    np.testing.assert_allclose(ours.averages[0], theirs[0].numpy(), rtol=1e-13)


def test_swap_copy_and_state_dict():
    w = np.arange(6, dtype=np.float32)
    ema = fo.EMA({"w": w}, decay=0.5)
    w += 2.0
    ema.update()
    assert np.array_equal(ema.averages[0], np.arange(6, dtype=np.float32) + 1.0)
    with ema.average_parameters():
        assert np.array_equal(w, np.arange(6, dtype=np.float32) + 1.0)
    assert np.array_equal(w, np.arange(6, dtype=np.float32) + 2.0)
    sd = ema.state_dict()
    other = fo.EMA([np.zeros(6, np.float32)], decay=0.9)
    other.load_state_dict(sd)
    assert other.decay == 0.5 and other.num_updates == 1
    assert np.array_equal(other.averages[0], ema.averages[0])
    target = np.zeros(6, np.float32)
    ema.copy_to([target])
    assert np.array_equal(target, ema.averages[0])


@pytest.mark.parametrize("make, exc, message", [
    (lambda: fo.EMA([np.zeros(3, np.int32)]), TypeError, "dtype int32"),
    (lambda: fo.EMA([np.zeros(6, np.float32)[::2]]), ValueError, "not contiguous"),
    (lambda: fo.EMA([[1.0]]), TypeError, "numpy.ndarray"),
    (lambda: fo.EMA([np.zeros(3)], decay=1.5), ValueError, "decay"),
    (lambda: fo.EMA([]), ValueError, "empty"),
])
def test_bad_arguments(make, exc, message):
    with pytest.raises(exc, match=message):
        make()


def test_bad_state_dict_changes_nothing():
    ema = fo.EMA([np.ones(3)], decay=0.5)
    with pytest.raises(ValueError, match="expected shape"):
        ema.load_state_dict({"decay": 0.1, "num_updates": 3, "averages": [np.zeros(4)]})
    assert ema.decay == 0.5 and ema.num_updates == 0 and np.all(ema.averages[0] == 1)


def test_read_only_params_can_be_averaged():
    p = np.ones(4)
    p.flags.writeable = False
    ema = fo.EMA([p], decay=0.5)
    ema.update()
    assert np.all(ema.averages[0] == 1)
