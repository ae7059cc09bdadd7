"""Adam and AdamW: torch.optim.Adam / torch.optim.AdamW."""

from __future__ import annotations

from typing import Any

from .base import LR, Optimizer, ParamsT, grad_coefficients, lerp_coefficients

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015) — ``torch.optim.Adam``, the same formula and operation order.

    For each param at step :math:`t` (1-based), with :math:`g` its gradient (negated if
    ``maximize``)::

        p     = p * (1 - lr * weight_decay)             (decoupled_weight_decay: AdamW)
        g     = g + weight_decay * p                    (otherwise, if weight_decay != 0: L2)
        m     = m + (1 - beta1) * (g - m)               (torch's lerp)
        v     = beta2 * v + (1 - beta2) * g * g
        v'    = max(v'_prev, v) if amsgrad else v       (max of the raw v, as torch)
        denom = sqrt(v') / sqrt(1 - beta2^t) + eps
        p     = p - lr / (1 - beta1^t) * m / denom

    epsilon is added after dividing sqrt(v) by sqrt(1 - beta2^t), as torch and optax do
    (TF/Keras's "epsilon hat" differs for small gradients). The bias corrections are computed
    in float64 from the integer step count each step.

    State (torch's names): ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (amsgrad).

    Args:
        params: arrays (list, dict name -> array, or param groups).
        lr: learning rate (default 1e-3), or a schedule ``count -> lr``.
        betas: (beta1, beta2), each in [0, 1) (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0); decoupled if ``decoupled_weight_decay``.
        amsgrad: AMSGrad (Reddi et al. 2018).
        maximize: maximize the objective.
        decoupled_weight_decay: AdamW's decay (Loshchilov & Hutter 2019), as torch's flag.
    """

    _kernel = "adam"

    def __init__(
        self,
        params: ParamsT,
        lr: LR = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
        nonfinite: str = "propagate",
        clip_norm: float | None = None,
    ) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults, nonfinite=nonfinite, clip_norm=clip_norm)

    def _state_layout(self, group: dict[str, Any]) -> tuple[str, ...]:
        if group["amsgrad"]:
            return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
        return ("exp_avg", "exp_avg_sq")

    def _coefficients(
        self, group: dict[str, Any], lr: float, step: int, fresh: bool
    ) -> dict[str, float]:
        beta1, beta2 = (float(b) for b in group["betas"])
        bias_correction1 = 1.0 - beta1**step
        bias_correction2 = 1.0 - beta2**step
        return {
            **grad_coefficients(group, lr),
            **lerp_coefficients(1.0 - beta1),
            "beta2": beta2,
            "one_minus_beta2": 1.0 - beta2,
            "amsgrad": float(bool(group["amsgrad"])),
            "bc2_sqrt": bias_correction2**0.5,
            "eps": float(group["eps"]),
            "neg_step_size": -(lr / bias_correction1),
        }


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter 2019) — ``torch.optim.AdamW``: Adam with decoupled weight
    decay ``p = p * (1 - lr * weight_decay)`` before the update (default weight_decay 1e-2).

    See :class:`Adam` for the formula and the other arguments.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: LR = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        nonfinite: str = "propagate",
        clip_norm: float | None = None,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         nonfinite=nonfinite, clip_norm=clip_norm,
                         decoupled_weight_decay=True)
