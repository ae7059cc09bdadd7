"""Adagrad: torch.optim.Adagrad, and Keras's and optax's form of it."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import LR, Optimizer, ParamsT
from .coefficients import eps_coefficients, grad_coefficients

__all__ = ["Adagrad", "adagrad_coefficients"]


def adagrad_coefficients(
    options: dict[str, Any], lr: float, step: int, fresh: bool = False
) -> dict[str, float]:
    """The adagrad kernel's coefficients (cpp/kernels/adagrad.hpp) for the ``step``-th step, in
    float64: shared by :class:`Adagrad` and :func:`fastoptim.functional.adagrad_`."""
    return {
        **grad_coefficients(options, lr),
        **eps_coefficients(options["eps"], options["eps_in_sqrt"]),
        "neg_clr": -(lr / (1 + (step - 1) * float(options["lr_decay"]))),
    }


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer 2011) — ``torch.optim.Adagrad``, the same formula and
    operation order.

    For each param at step :math:`t` (1-based), with :math:`g` its gradient (negated if
    ``maximize``)::

        p   = p * (1 - lr * weight_decay)               (decoupled_weight_decay)
        g   = g + weight_decay * p                      (otherwise, if weight_decay != 0: L2)
        sum = sum + g * g
        clr = lr / (1 + (t - 1) * lr_decay)
        p   = p - clr * g / (sqrt(sum) + eps)
        p   = p - clr * g / sqrt(sum + eps)             (eps_in_sqrt: Keras, optax)

    Source: torch.optim.Adagrad (single-tensor path, torch 2.x); Duchi, Hazan & Singer 2011,
    JMLR 12, diagonal form. eps is outside the square root, as torch; ``clr`` is computed in
    float64 each step. Keras and optax put eps inside the square root (``eps_in_sqrt=True``)
    and start the sum at ``initial_accumulator_value=0.1`` (torch: 0); optax multiplies by
    ``rsqrt(sum + eps)`` where sum > 0 and by 0 elsewhere (the same but for rounding, and for
    sum = 0 with eps = 0, where we divide 0 by 0). Keras's ``weight_decay`` is
    ``decoupled_weight_decay=True``.

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
        decoupled_weight_decay: decay the params by ``1 - lr * weight_decay`` instead of adding
            the L2 term to the gradient (Keras's ``weight_decay``).
        eps_in_sqrt: eps inside the square root (Keras, optax); default False (torch).
    """

    _kernel = "adagrad"
    # The sum of squares only grows: in 8 bits (or bfloat16's 8) an increment below half a
    # unit in the last place of the sum is lost, and the sum stops growing after ~16 (~256)
    # steps of equal gradients, so it stays float32 in every state_dtype.
    _state_codes = {"sum": "float32"}

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
        decoupled_weight_decay: bool = False,
        eps_in_sqrt: bool = False,
        nonfinite: str = "propagate",
        clip_norm: float | None = None,
        **precision: Any,
    ) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay,
                        eps_in_sqrt=eps_in_sqrt)
        super().__init__(params, defaults, nonfinite=nonfinite, clip_norm=clip_norm,
                         **precision)

    def _fill_value(self, name: str, group: dict[str, Any]) -> float:
        return float(group["initial_accumulator_value"])

    _coefficients = staticmethod(adagrad_coefficients)
