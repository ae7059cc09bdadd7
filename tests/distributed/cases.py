"""The cases of the distributed tests, shared by worker.py (run under mpiexec) and
tests/test_distributed.py (one process): the params, every rank's grads at every step, and the
optimizers, all made from seeds so that every rank and the plain optimizer see the same
numbers."""

from __future__ import annotations

import numpy as np

import fastoptim as fo
from fastoptim.lowp import Quantized

NAMES = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam", "Adadelta",
         "Lion"]
OPTIONS = {"SGD": dict(lr=0.01, momentum=0.9, nesterov=True), "Adam": dict(amsgrad=True),
           "RMSprop": dict(momentum=0.5, centered=True), "Adagrad": dict(lr_decay=0.01)}

# Odd sizes across the shard alignment (16,384 elements), an empty param, a Fortran-order one:
# with 2, 3 and 4 ranks, cuts fall inside params and at their boundaries.
SHAPES = [(40_001,), (3, 5), (0,), (129, 257), (16_384,), (7,)]
FORTRAN = {3}
STEPS = 4


def bits(a) -> np.ndarray:
    """The stored bits of an array or int8 state (so NaNs compare too)."""
    if isinstance(a, Quantized):
        return np.concatenate([a.codes.view(np.uint8).ravel(order="K"),
                               a.scales.view(np.uint8)])
    return a.ravel(order="K").view(np.uint8)


def set_bits(a: np.ndarray, raw: np.ndarray) -> None:
    """Writes the stored bits ``raw`` (from :func:`bits`) into ``a``, in its memory order."""
    a.ravel(order="K").view(np.uint8)[...] = raw


def make_params(dtype, shapes=SHAPES, seed=0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for k, s in enumerate(shapes):
        x = rng.standard_normal(s).astype(np.float32).astype(dtype)
        out.append(np.asfortranarray(x) if k in FORTRAN else x)
    return out


def make_grads(params, step: int, rank: int, dtype=None, none=(), nan=False, scale=1.0):
    """Rank ``rank``'s grads at ``step``: None for the indices in ``none``."""
    rng = np.random.default_rng(10_000 * step + rank + 1)
    out = []
    for i, p in enumerate(params):
        g = (scale * rng.standard_normal(p.shape)).astype(np.float32).astype(dtype or p.dtype)
        if nan and i == 0 and g.size:
            g.reshape(-1)[g.size // 2] = np.nan
        out.append(None if i in none else
                   (np.asfortranarray(g) if p.flags.f_contiguous and p.ndim > 1
                    and not p.flags.c_contiguous else g))
    return out


def cases() -> list[dict]:
    """Every parity case: name, optimizer, dtype, options, and how the grads look."""
    bf16 = fo.lowp.bfloat16()
    out = []
    for name in NAMES:
        for dtype in (np.float32, np.float64):
            out.append(dict(id=f"{name}-{np.dtype(dtype).name}", cls=name, dtype=dtype,
                            options=OPTIONS.get(name, {})))
        out.append(dict(id=f"{name}-int8-stochastic", cls=name, dtype=np.float32,
                        options={**OPTIONS.get(name, {}), "state_dtype": "int8",
                                 "rounding": "stochastic", "seed": 7}))
    for name in ("Adam", "AdamW", "SGD"):
        out += [
            dict(id=f"{name}-bf16-master", cls=name, dtype=bf16, grad_dtype=np.float32,
                 options={**OPTIONS.get(name, {}), "master_weights": True}),
            dict(id=f"{name}-f16-stochastic", cls=name, dtype=np.float16,
                 options={**OPTIONS.get(name, {}), "rounding": "stochastic", "seed": 3}),
            dict(id=f"{name}-bf16-state", cls=name, dtype=np.float32,
                 options={**OPTIONS.get(name, {}), "state_dtype": "bfloat16"}),
            dict(id=f"{name}-int8", cls=name, dtype=np.float32,
                 options={**OPTIONS.get(name, {}), "state_dtype": "int8"}),
        ]
    out += [
        dict(id="Adam-groups", cls="Adam", dtype=np.float32, groups=True, options={}),
        dict(id="SGD-groups-f64", cls="SGD", dtype=np.float64, groups=True,
             options=dict(lr=0.1, momentum=0.9)),
        dict(id="Adam-clip", cls="Adam", dtype=np.float32, options=dict(clip_norm=50.0)),
        dict(id="RMSprop-clip-f64", cls="RMSprop", dtype=np.float64,
             options=dict(clip_norm=10.0, momentum=0.5)),
        dict(id="Adam-none-grads", cls="Adam", dtype=np.float32, none=True, options={}),
        dict(id="SGD-none-grads", cls="SGD", dtype=np.float32, none=True,
             options=dict(lr=0.01, momentum=0.9)),
        dict(id="Adam-skip-nonfinite", cls="Adam", dtype=np.float32, nan=True,
             options=dict(nonfinite="skip")),
        dict(id="AdamW-schedule", cls="AdamW", dtype=np.float32, schedule=True, options={}),
        dict(id="Adam-no-average", cls="Adam", dtype=np.float32, average=False, options={}),
    ]
    return out


def groups_of(params, case):
    if not case.get("groups"):
        return params
    return [{"params": params[:2], "lr": 0.003, "weight_decay": 0.01},
            {"params": params[2:4]},
            {"params": params[4:], "lr": 0.02}]


def grads_at(case, params, step, rank):
    none = (1, 3) if case.get("none") and step % 2 else ()
    nan = bool(case.get("nan")) and step == 2
    return make_grads(params, step, rank, case.get("grad_dtype"), none, nan)


def step_grads(case, params, step, world, rank):
    """What rank ``rank`` passes to the sharded step, and what the plain optimizer gets."""
    if case.get("average", True):
        per_rank = [grads_at(case, params, step, r) for r in range(world)]
        return per_rank[rank], fo.distributed.average_grads(per_rank)
    g = grads_at(case, params, step, 0)
    return g, g
