"""Adagrad: torch.optim.Adagrad."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import LR, Optimizer, ParamsT, grad_coefficients

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer 2011) — ``torch.optim.Adagrad``, the same formula and
    operation order.

    For each param at step :math:`t` (1-based), with :math:`g` its gradient (negated if
    ``maximize``)::

        g   = g + weight_decay * p                      (if weight_decay != 0)
        sum = sum + g * g
        clr = lr / (1 + (t - 1) * lr_decay)
        p   = p - clr * g / (sqrt(sum) + eps)

    Source: torch.optim.Adagrad (single-tensor path, torch 2.x); Duchi, Hazan & Singer 2011,
    JMLR 12, diagonal form. eps is outside the square root, as torch; ``clr`` is computed in
    float64 each step.

    State (torch's name): ``sum``, starting at ``initial_accumulator_value``. It is created at
    the first step (torch creates it in the constructor), from the param group's own
    ``initial_accumulator_value`` (torch always uses the constructor's value).

    Args:
        params: arrays (list, dict name -> array, or param groups).
        lr: learning rate (default 1e-2), or a schedule ``count -> lr``.
        lr_decay: learning-rate decay (default 0).
        weight_decay: L2 penalty added to the gradient (default 0).
        initial_accumulator_value: starting value of ``sum`` (default 0).
        eps: added to the denominator (default 1e-10).
        maximize: maximize the objective.
    """

    _kernel = "adagrad"

    def __init__(
        self,
        params: ParamsT,
        lr: LR = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
        nonfinite: str = "propagate",
        clip_norm: float | None = None,
    ) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        maximize=maximize)
        super().__init__(params, defaults, nonfinite=nonfinite, clip_norm=clip_norm)

    def _new_buffer(self, name: str, param: np.ndarray, group: dict[str, Any]) -> np.ndarray:
        return np.full_like(param, group["initial_accumulator_value"])

    def _coefficients(
        self, group: dict[str, Any], lr: float, step: int, fresh: bool
    ) -> dict[str, float]:
        return {
            **grad_coefficients(group, lr),
            "eps": float(group["eps"]),
            "neg_clr": -(lr / (1 + (step - 1) * float(group["lr_decay"]))),
        }
