"""The table of optimizers the demo compares; every other part of the demo loops over it.

Each :class:`OptimizerSpec` names a fastoptim class by attribute (``"Adagrad"`` for
``fastoptim.Adagrad``), so an optimizer that this fastoptim build does not have yet is
skipped with a note and picked up as soon as it lands — nothing else to change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Union

import numpy as np

import fastoptim as fo

__all__ = ["SPECS", "OptimizerSpec", "available", "lr_search", "make_adam", "make_optimizer"]

Stepper = Any  # anything with .step(grads): a fastoptim optimizer


@dataclass(frozen=True)
class OptimizerSpec:
    """One line of the comparison: ``fastoptim.<cls>(params, lr=..., **kwargs)``.

    ``lr``: where the learning-rate search starts on the digits models (and the only lr that
    ``--quick`` runs): the usual winner there. ``toy_lr``: the same for the 2-D Rosenbrock
    function, whose curvature (up to ~1000) wants very different steps.
    """

    label: str
    cls: str
    lr: float
    toy_lr: float
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return hasattr(fo, self.cls)


#: The seeds' optimizers (SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam, AdaMax), then
#: AdamW, NAdam and Lion; every lr on the 1-3-10 grid that :func:`lr_search` walks.
#: Order = table and legend order.
SPECS: tuple[OptimizerSpec, ...] = (
    OptimizerSpec("SGD", "SGD", 0.3, 1e-3),
    OptimizerSpec("SGD+momentum", "SGD", 0.03, 1e-3, {"momentum": 0.9}),
    OptimizerSpec("SGD+Nesterov", "SGD", 0.03, 3e-4, {"momentum": 0.9, "nesterov": True}),
    OptimizerSpec("AdaGrad", "Adagrad", 0.1, 0.1),
    OptimizerSpec("RMSProp", "RMSprop", 3e-3, 1e-2),
    OptimizerSpec("Adam", "Adam", 1e-2, 0.1),
    OptimizerSpec("AdaMax", "Adamax", 3e-2, 0.1),
    OptimizerSpec("AdamW", "AdamW", 1e-2, 0.1, {"weight_decay": 1e-2}),
    OptimizerSpec("NAdam", "NAdam", 1e-2, 3e-2),
    OptimizerSpec("Lion", "Lion", 1e-3, 1e-2),
)


def available(specs: tuple[OptimizerSpec, ...] = SPECS) -> tuple[list[OptimizerSpec],
                                                                  list[OptimizerSpec]]:
    """Split ``specs`` into (those this fastoptim build has, those it has not yet)."""
    return [s for s in specs if s.available], [s for s in specs if not s.available]


def _grid(i: int) -> float:
    """The i-th point of the 1-3-10 grid: ..., 0.001, 0.003, 0.01, 0.03, ... (i=0 -> 1)."""
    return float(f"{(3 if i % 2 else 1)}e{i // 2}")


def lr_search(start: float, loss: Callable[[float], float], *, max_evals: int = 6,
              on_eval: Callable[[float, float], None] = lambda lr, v: None) -> float:
    """The lr with the lowest ``loss(lr)`` near ``start``, on the 1-3-10 grid (half decades).

    Tries ``start`` and both neighbours, then keeps stepping past whichever end is best until
    the best lr has a worse (or diverged: ``inf``) neighbour on both sides or ``max_evals``
    runs are spent: a small sweep that adapts to the data instead of a fixed grid.
    """
    i0 = round(2 * math.log10(start))
    if not math.isclose(_grid(i0), start):
        raise ValueError(f"start lr {start} is not on the 1-3-10 grid")
    seen: dict[int, float] = {}

    def at(i: int) -> float:
        if i not in seen:
            seen[i] = loss(_grid(i))
            on_eval(_grid(i), seen[i])
        return seen[i]

    def best() -> int:  # ties go to the smaller lr
        return min(seen, key=lambda i: (seen[i], i))

    for i in (i0, i0 - 1, i0 + 1):
        at(i)
    while len(seen) < max_evals:
        if best() == min(seen):
            at(best() - 1)
        elif best() == max(seen):
            at(best() + 1)
        else:
            break
    return _grid(best())


Params = Union[dict[str, np.ndarray], list[np.ndarray]]


def make_optimizer(spec: OptimizerSpec, params: Params, lr: float) -> Stepper:
    """``fastoptim.<spec.cls>(params, lr=lr, **spec.kwargs)``."""
    return getattr(fo, spec.cls)(params, lr=lr, **spec.kwargs)


# ------------------------------------------------------------------ bias-correction ablation
def make_adam(params: Params, lr: float, betas: tuple[float, float],
              bias_correction: bool) -> Stepper:
    """Adam with or without the bias corrections of its moment estimates (the Adam paper's
    Section 6.4 ablation; fo.Adam's ``bias_correction`` option); without:
    ``p -= lr * m / (sqrt(v) + eps)``."""
    return fo.Adam(params, lr=lr, betas=betas, bias_correction=bias_correction)
