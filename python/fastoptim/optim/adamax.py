"""Adamax: torch.optim.Adamax, and Keras's form of it."""

from __future__ import annotations

from typing import Any

from .base import LR, Optimizer, ParamsT
from .coefficients import grad_coefficients, lerp_coefficients

__all__ = ["Adamax", "adamax_coefficients"]


def adamax_coefficients(
    options: dict[str, Any], lr: float, step: int, fresh: bool = False
) -> dict[str, float]:
    """The adamax kernel's coefficients (cpp/kernels/adamax.hpp) for the ``step``-th step, in
    float64: shared by :class:`Adamax` and :func:`fastoptim.functional.adamax_`."""
    beta1, beta2 = (float(b) for b in options["betas"])
    eps = float(options["eps"])
    in_max = bool(options["eps_in_max"])
    return {
        **grad_coefficients(options, lr),
        **lerp_coefficients(1.0 - beta1),
        "beta2": beta2,
        "eps": eps if in_max else 0.0,
        "eps_out": 0.0 if in_max else eps,
        "neg_clr": -(lr / (1.0 - beta1**step)),
    }


class Adamax(Optimizer):
    r"""Adamax, the infinity-norm variant of Adam (Kingma & Ba 2015, Algorithm 2) —
    ``torch.optim.Adamax``, the same formula and operation order.

    For each param at step :math:`t` (1-based), with :math:`g` its gradient (negated if
    ``maximize``)::

        p = p * (1 - lr * weight_decay)                 (decoupled_weight_decay)
        g = g + weight_decay * p                        (otherwise, if weight_decay != 0: L2)
        m = m + (1 - beta1) * (g - m)                   (torch's lerp)
        u = max(beta2 * u, |g| + eps)                   (NaN-propagating, as torch.maximum)
        p = p - lr / (1 - beta1^t) * m / u

    Source: torch.optim.Adamax (single-tensor path, torch 2.x); Kingma & Ba 2015,
    arXiv:1412.6980, Algorithm 2. eps is added to ``|g|`` inside the max, as torch (the paper has
    no eps); optax too. Keras adds it to u in the denominator instead
    (``eps_in_max=False``)::

        u = max(beta2 * u, |g|);  p = p - lr / (1 - beta1^t) * m / (u + eps)    (Keras)

    and its ``weight_decay`` is ``decoupled_weight_decay=True`` (optax's adamaxw too).
    State (torch's names): ``exp_avg`` (m), ``exp_inf`` (u).

    Args:
        params: arrays (list, dict name -> array, or param groups).
        lr: learning rate (default 2e-3), or a schedule ``count -> lr``.
        betas: (beta1, beta2), each in [0, 1) (default (0.9, 0.999)).
        eps: added to ``|g|`` (default 1e-8).
        weight_decay: L2 penalty added to the gradient (default 0).
        maximize: maximize the objective.
        decoupled_weight_decay: decay the params by ``1 - lr * weight_decay`` instead of adding
            the L2 term to the gradient (Keras's ``weight_decay``, optax's adamaxw).
        eps_in_max: eps added to ``|g|`` inside the max (default True: torch, optax); False: added
            to u in the denominator (Keras).
    """

    _kernel = "adamax"
    _state_codes = {"exp_avg": "signed", "exp_inf": "unsigned"}

    def __init__(
        self,
        params: ParamsT,
        lr: LR = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
        eps_in_max: bool = True,
        nonfinite: str = "propagate",
        clip_norm: float | None = None,
        **precision: Any,
    ) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay,
                        eps_in_max=eps_in_max)
        super().__init__(params, defaults, nonfinite=nonfinite, clip_norm=clip_norm,
                         **precision)

    _coefficients = staticmethod(adamax_coefficients)
