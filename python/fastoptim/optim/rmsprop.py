"""RMSprop, plain and centered: torch.optim.RMSprop."""

from __future__ import annotations

from typing import Any

from .base import LR, Optimizer, ParamsT, grad_coefficients, lerp_coefficients

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, Lecture 6e of "Neural Networks for Machine Learning", 2012; centered
    form from Graves 2013, "Generating Sequences With Recurrent Neural Networks") —
    ``torch.optim.RMSprop``, the same formula and operation order.

    For each param, with :math:`g` its gradient (negated if ``maximize``)::

        g   = g + weight_decay * p                      (if weight_decay != 0)
        sa  = alpha * sa + (1 - alpha) * g * g
        ga  = ga + (1 - alpha) * (g - ga)               (centered; torch's lerp)
        avg = sqrt(sa - ga * ga) + eps                  (centered)
        avg = sqrt(sa) + eps                            (otherwise)
        buf = momentum * buf + g / avg;  p = p - lr * buf        (momentum > 0)
        p   = p - lr * g / avg                                   (otherwise)

    Source: torch.optim.RMSprop (single-tensor path, torch 2.x); Hinton, Lecture 6e of
    "Neural Networks for Machine Learning" (2012); centered form: Graves 2013, Eqs. 38-41.
    eps is added outside the square root, as torch (TF's RMSprop adds it inside). State
    (torch's names, zeros at the start as torch): ``square_avg`` (sa), ``momentum_buffer``
    (momentum > 0), ``grad_avg`` (centered).

    Args:
        params: arrays (list, dict name -> array, or param groups).
        lr: learning rate (default 1e-2), or a schedule ``count -> lr``.
        alpha: smoothing constant in [0, 1) (default 0.99).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty added to the gradient (default 0).
        momentum: momentum factor (default 0).
        centered: divide by the estimated variance instead of the second moment.
        maximize: maximize the objective.
    """

    _kernel = "rmsprop"

    def __init__(
        self,
        params: ParamsT,
        lr: LR = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
        nonfinite: str = "propagate",
        clip_norm: float | None = None,
    ) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults, nonfinite=nonfinite, clip_norm=clip_norm)

    def _state_layout(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("square_avg",) + (("momentum_buffer",) if group["momentum"] > 0 else ()) + (
            ("grad_avg",) if group["centered"] else ())

    def _coefficients(
        self, group: dict[str, Any], lr: float, step: int, fresh: bool
    ) -> dict[str, float]:
        alpha = float(group["alpha"])
        return {
            **grad_coefficients(group, lr),
            "alpha": alpha,
            "one_minus_alpha": 1.0 - alpha,
            "centered": float(bool(group["centered"])),
            **lerp_coefficients(1.0 - alpha),
            "eps": float(group["eps"]),
            "momentum": float(group["momentum"]),
            "neg_lr": -lr,
        }
