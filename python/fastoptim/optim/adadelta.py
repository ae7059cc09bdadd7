"""Adadelta: torch.optim.Adadelta."""

from __future__ import annotations

from typing import Any

from .base import LR, Optimizer, ParamsT
from .coefficients import grad_coefficients

__all__ = ["Adadelta", "adadelta_coefficients"]


def adadelta_coefficients(
    options: dict[str, Any], lr: float, step: int, fresh: bool = False
) -> dict[str, float]:
    """The adadelta kernel's coefficients (cpp/kernels/adadelta.hpp), in float64: shared by
    :class:`Adadelta` and :func:`fastoptim.functional.adadelta_`."""
    rho = float(options["rho"])
    return {
        **grad_coefficients(options, lr),
        "rho": rho,
        "one_minus_rho": 1.0 - rho,
        "eps": float(options["eps"]),
        "neg_lr": -lr,
    }


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler 2012, "ADADELTA: An Adaptive Learning Rate Method", Algorithm 1, with
    torch's learning rate scaling the update) — ``torch.optim.Adadelta``, the same formula and
    operation order.

    For each param, with :math:`g` its gradient (negated if ``maximize``)::

        p     = p * (1 - lr * weight_decay)             (decoupled_weight_decay)
        g     = g + weight_decay * p                    (otherwise, if weight_decay != 0: L2)
        sa    = rho * sa + (1 - rho) * g * g
        delta = sqrt(acc + eps) / sqrt(sa + eps) * g
        acc   = rho * acc + (1 - rho) * delta * delta
        p     = p - lr * delta

    Source: torch.optim.Adadelta (single-tensor path, torch 2.x); Zeiler 2012,
    arXiv:1212.5701, Algorithm 1 (torch adds lr and weight decay). State (torch's names, zeros
    at the start): ``square_avg`` (sa), ``acc_delta`` (acc).
    rho must be < 1 (torch accepts rho = 1, which freezes the averages at zero).
    Keras and optax compute the same update (Keras: rho 0.95, eps 1e-7, lr 1e-3 by default,
    ``weight_decay`` decoupled: ``decoupled_weight_decay=True``; optax: its weight_decay is
    the L2 term, as torch's).

    Args:
        params: arrays (list, dict name -> array, or param groups).
        lr: coefficient scaling delta (default 1.0), or a schedule ``count -> lr``.
        rho: decay rate of the running averages, in [0, 1) (default 0.9).
        eps: added inside both square roots (default 1e-6).
        weight_decay: L2 penalty added to the gradient (default 0).
        maximize: maximize the objective.
        decoupled_weight_decay: decay the params by ``1 - lr * weight_decay`` instead of adding
            the L2 term to the gradient (Keras's ``weight_decay``).
    """

    _kernel = "adadelta"
    _state_codes = {"square_avg": "unsigned", "acc_delta": "unsigned"}

    def __init__(
        self,
        params: ParamsT,
        lr: LR = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
        nonfinite: str = "propagate",
        clip_norm: float | None = None,
        **precision: Any,
    ) -> None:
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults, nonfinite=nonfinite, clip_norm=clip_norm,
                         **precision)

    _coefficients = staticmethod(adadelta_coefficients)
