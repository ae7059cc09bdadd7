"""Parity with torch.optim (the real library, where installed): same trajectories within float
rounding. torch's CPU kernels order some operations differently (its vectorized lerp and
addcmul use fused multiply-add), so the match is to a tolerance, justified per dtype below;
tiny gradients in float64 make the epsilon placement visible, so a wrong formula fails."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastoptim as fo

torch = pytest.importorskip("torch")

STEPS = 30

# Tolerances. Each step rounds a few operations differently from torch (FMA vs separate
# multiply-add, (a*b)/c vs a*(b/c)): ~1 ulp per operation, accumulated over STEPS steps.
# float64: we compare the displacement p - p0 (O(0.01..1)), whose error is a few ulp of p
# (2.2e-16) per step: 30 steps stay far below 1e-11 relative. float32: the params themselves
# (O(1)), ulp 6e-8, 30 steps x a few ulp: below 2e-5 absolute. A formula error (eps placement,
# bias correction, decay order) shows at 1e-3..1e-1 relative with the tiny float64 gradients
# below, which is what tells the conventions apart.

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9))),  # beta1 < 0.5: torch's other lerp branch
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
]


def trajectories(name, options, dtype, scale, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(7, 5), (33,), (1,)]
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]
             for _ in range(STEPS)]
    ours = [p.copy() for p in init]
    opt = getattr(fo, name)(ours, **options)
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in init]
    topt = getattr(torch.optim, name)(theirs, foreach=False, **options)
    for gs in grads:
        opt.step(gs)
        for t, g in zip(theirs, gs):
            t.grad = torch.from_numpy(g.copy())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            topt.step()
    return ours, [t.detach().numpy() for t in theirs], init, grads


@pytest.mark.parametrize("name, options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch(name, options, dtype):
    ours, theirs, init, _ = trajectories(name, options, dtype, scale=1.0)
    for a, b, p0 in zip(ours, theirs, init):
        if dtype == np.float64:
            np.testing.assert_allclose(a - p0, b - p0, rtol=1e-11, atol=0)
        else:
            np.testing.assert_allclose(a, b, rtol=0, atol=2e-5)


@pytest.mark.parametrize("name, options", [c for c in CASES if c[0] != "SGD"],
                         ids=[f"{n}-{o}" for n, o in CASES if n != "SGD"])
def test_matches_torch_tiny_gradients_float64(name, options):
    """Gradients ~1e-6: eps (1e-8) is then comparable to sqrt(v), so placing it anywhere else
    (inside the sqrt, before the bias correction) changes the update by percents."""
    ours, theirs, init, _ = trajectories(name, options, np.float64, scale=1e-6)
    for a, b, p0 in zip(ours, theirs, init):
        np.testing.assert_allclose(a - p0, b - p0, rtol=1e-10, atol=0)


def test_tiny_gradient_test_can_tell_epsilon_placement_apart():
    """The tolerance above is tight enough to fail for TF's "epsilon hat" placement."""
    _, theirs, init, grads = trajectories("Adam", dict(lr=0.01), np.float64, scale=1e-6)
    # Re-run with eps placed as TF does: p -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)
    p = [x.copy() for x in init]
    m = [np.zeros_like(x) for x in p]
    v = [np.zeros_like(x) for x in p]
    for t, gs in enumerate(grads, start=1):
        for k, g in enumerate(gs):
            m[k] = 0.9 * m[k] + 0.1 * g
            v[k] = 0.999 * v[k] + 0.001 * g * g
            alpha = 0.01 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
            p[k] = p[k] - alpha * m[k] / (np.sqrt(v[k]) + 1e-8)
    diff = max(np.max(np.abs((a - p0) - (b - p0)) / np.abs(b - p0))
               for a, b, p0 in zip(p, theirs, init))
    assert diff > 1e-3
