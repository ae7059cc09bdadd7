"""SGD with momentum and Nesterov momentum: torch.optim.SGD."""

from __future__ import annotations

from typing import Any

from .base import LR, Optimizer, ParamsT, grad_coefficients

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent with (Nesterov) momentum — ``torch.optim.SGD``.

    For each param, with :math:`g` its gradient (negated if ``maximize``)::

        g   = g + weight_decay * p                        (if weight_decay != 0)
        buf = g                                           (first step)
        buf = momentum * buf + (1 - dampening) * g        (later steps)
        g   = g + momentum * buf   if nesterov   else   g = buf
        p   = p - lr * g

    Source: torch.optim.SGD (Sutskever et al. 2013 for the momentum form; Nesterov as in
    torch's docs). The seeds' form ``Δw ← αΔw − η∇E`` (lr inside the buffer) gives the same
    trajectory for a constant lr.

    Args:
        params: arrays (list, dict name -> array, or param groups).
        lr: learning rate (default 1e-3, as torch), or a schedule ``count -> lr``.
        momentum: momentum factor (default 0).
        dampening: dampening of the momentum (default 0).
        weight_decay: L2 penalty added to the gradient (default 0).
        nesterov: Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize: maximize the objective instead of minimizing it.
    """

    _kernel = "sgd"
    _init_from_grad = frozenset({"momentum_buffer"})

    def __init__(
        self,
        params: ParamsT,
        lr: LR = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        nonfinite: str = "propagate",
        clip_norm: float | None = None,
    ) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults, nonfinite=nonfinite, clip_norm=clip_norm)

    def _check_group(self, group: dict[str, Any], index: int) -> None:
        super()._check_group(group, index)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"param_groups[{index}]: nesterov requires momentum > 0 and "
                             "zero dampening")

    def _state_layout(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("momentum_buffer",) if group["momentum"] != 0 else ()

    def _coefficients(
        self, group: dict[str, Any], lr: float, step: int, fresh: bool
    ) -> dict[str, float]:
        return {
            **grad_coefficients(group, lr),
            "momentum": float(group["momentum"]),
            "one_minus_dampening": 1.0 - float(group["dampening"]),
            "nesterov": float(bool(group["nesterov"])),
            "init_buffer": float(fresh),
            "neg_lr": -lr,
        }
