"""Adamax: torch.optim.Adamax."""

from __future__ import annotations

from typing import Any

from .base import LR, Optimizer, ParamsT, grad_coefficients, lerp_coefficients

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax, the infinity-norm variant of Adam (Kingma & Ba 2015, Algorithm 2) —
    ``torch.optim.Adamax``, the same formula and operation order.

    For each param at step :math:`t` (1-based), with :math:`g` its gradient (negated if
    ``maximize``)::

        g = g + weight_decay * p                        (if weight_decay != 0)
        m = m + (1 - beta1) * (g - m)                   (torch's lerp)
        u = max(beta2 * u, |g| + eps)                   (NaN-propagating, as torch.maximum)
        p = p - lr / (1 - beta1^t) * m / u

    Source: torch.optim.Adamax (single-tensor path, torch 2.x); Kingma & Ba 2015,
    arXiv:1412.6980, Algorithm 2. eps is added to |g| inside the max, as torch (the paper has
    no eps). State (torch's names): ``exp_avg`` (m), ``exp_inf`` (u).

    Args:
        params: arrays (list, dict name -> array, or param groups).
        lr: learning rate (default 2e-3), or a schedule ``count -> lr``.
        betas: (beta1, beta2), each in [0, 1) (default (0.9, 0.999)).
        eps: added to |g| (default 1e-8).
        weight_decay: L2 penalty added to the gradient (default 0).
        maximize: maximize the objective.
    """

    _kernel = "adamax"

    def __init__(
        self,
        params: ParamsT,
        lr: LR = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
        nonfinite: str = "propagate",
        clip_norm: float | None = None,
    ) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults, nonfinite=nonfinite, clip_norm=clip_norm)

    def _coefficients(
        self, group: dict[str, Any], lr: float, step: int, fresh: bool
    ) -> dict[str, float]:
        beta1, beta2 = (float(b) for b in group["betas"])
        return {
            **grad_coefficients(group, lr),
            **lerp_coefficients(1.0 - beta1),
            "beta2": beta2,
            "eps": float(group["eps"]),
            "neg_clr": -(lr / (1.0 - beta1**step)),
        }
