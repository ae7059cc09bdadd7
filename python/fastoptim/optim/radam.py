"""RAdam: torch.optim.RAdam."""

from __future__ import annotations

from typing import Any

from .base import LR, Optimizer, ParamsT
from .coefficients import grad_coefficients, lerp_coefficients

__all__ = ["RAdam", "radam_coefficients"]


def radam_coefficients(
    options: dict[str, Any], lr: float, step: int, fresh: bool = False
) -> dict[str, float]:
    """The radam kernel's coefficients (cpp/kernels/radam.hpp) for the ``step``-th step, in
    float64: shared by :class:`RAdam` and :func:`fastoptim.functional.radam_`."""
    beta1, beta2 = (float(b) for b in options["betas"])
    bias_correction2 = 1.0 - beta2**step
    # torch's expressions, in its order
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
    rectify = rho_t > 5.0
    rect = (
        ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        ** 0.5 if rectify else 1.0
    )
    return {
        **grad_coefficients(options, lr),
        **lerp_coefficients(1.0 - beta1),
        "beta2": beta2,
        "one_minus_beta2": 1.0 - beta2,
        "bias_correction1": 1.0 - beta1**step,
        "lr": lr,
        "rectify": float(rectify),
        "bc2_sqrt": bias_correction2**0.5,
        "eps": float(options["eps"]),
        "rect": rect,
    }


class RAdam(Optimizer):
    r"""RAdam, rectified Adam (Liu et al. 2020, "On the Variance of the Adaptive Learning Rate
    and Beyond", Algorithm 2) — ``torch.optim.RAdam``, the same formula and operation order.

    For each param at step :math:`t` (1-based), with :math:`g` its gradient (negated if
    ``maximize``)::

        p       = p * (1 - lr * weight_decay)           (decoupled_weight_decay)
        g       = g + weight_decay * p                  (otherwise, if weight_decay != 0: L2)
        m       = m + (1 - beta1) * (g - m)             (torch's lerp)
        v       = beta2 * v + (1 - beta2) * g * g
        rho_inf = 2 / (1 - beta2) - 1
        rho_t   = rho_inf - 2 t beta2^t / (1 - beta2^t)
        r_t     = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        p       = p - m / (1 - beta1^t) * lr * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r_t
                                                        (if rho_t > 5)
        p       = p - m / (1 - beta1^t) * lr            (otherwise: un-adapted momentum step)

    Source: torch.optim.RAdam (single-tensor path, torch 2.x); Liu et al. 2020, ICLR,
    arXiv:1908.03265, Algorithm 2. rho_t, r_t and the branch are computed per step in float64
    (the branch is the same for every element); the adapted update multiplies in torch's
    order, with 1 / (sqrt(v) + eps) as torch's reciprocal. eps is added after the square root,
    as torch. State (torch's names): ``exp_avg`` (m), ``exp_avg_sq`` (v).

    Args:
        params: arrays (list, dict name -> array, or param groups).
        lr: learning rate (default 1e-3), or a schedule ``count -> lr``.
        betas: (beta1, beta2), each in [0, 1) (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: weight decay (default 0): L2, or decoupled if ``decoupled_weight_decay``.
        decoupled_weight_decay: AdamW-style decay, as torch's flag.
        maximize: maximize the objective.
    """

    _kernel = "radam"
    _state_codes = {"exp_avg": "signed", "exp_avg_sq": "unsigned"}

    def __init__(
        self,
        params: ParamsT,
        lr: LR = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
        nonfinite: str = "propagate",
        clip_norm: float | None = None,
        **precision: Any,
    ) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults, nonfinite=nonfinite, clip_norm=clip_norm,
                         **precision)

    _coefficients = staticmethod(radam_coefficients)
