"""Lion: Chen et al. 2023 (not in torch.optim)."""

from __future__ import annotations

from typing import Any

from .base import LR, Optimizer, ParamsT
from .coefficients import grad_coefficients

__all__ = ["Lion", "lion_coefficients"]


def lion_coefficients(
    options: dict[str, Any], lr: float, step: int, fresh: bool = False
) -> dict[str, float]:
    """The lion kernel's coefficients (cpp/kernels/lion.hpp), in float64: shared by
    :class:`Lion` and :func:`fastoptim.functional.lion_`."""
    beta1, beta2 = (float(b) for b in options["betas"])
    return {
        **grad_coefficients(options, lr, decoupled=True),
        "beta1": beta1,
        "one_minus_beta1": 1.0 - beta1,
        "beta2": beta2,
        "one_minus_beta2": 1.0 - beta2,
        "neg_lr": -lr,
    }


class Lion(Optimizer):
    r"""Lion, EvoLved Sign Momentum (Chen et al. 2023, "Symbolic Discovery of Optimization
    Algorithms", Algorithm 2, with decoupled weight decay). Not in torch.optim (2.13); the
    update is the paper's, in the form of its reference implementations.

    For each param, with :math:`g` its gradient (negated if ``maximize``)::

        c = beta1 * m + (1 - beta1) * g
        p = p * (1 - lr * weight_decay) - lr * sign(c)
        m = beta2 * m + (1 - beta2) * g

    Source: Chen et al. 2023, arXiv:2302.06675, Algorithm 2 (the paper writes the decay as
    ``p - lr * (sign(c) + weight_decay * p)``; we compute its reference implementations'
    ``p * (1 - lr * weight_decay) - lr * sign(c)``, one rounding apart).

    ``sign`` is -1, 0 or +1 with sign(0) = 0: a param whose gradient and momentum are zero does
    not move. For a NaN ``c`` it gives 0 as well (unlike ``np.sign``, which gives NaN): the
    param keeps its value and the NaN stays in ``m``, so that element stops moving. The NumPy
    reference computes the same sign. Lion's update has the same size for every element, so
    it wants a smaller lr (3-10x) and a larger weight_decay than AdamW. State: ``exp_avg`` (m).

    Args:
        params: arrays (list, dict name -> array, or param groups).
        lr: learning rate (default 1e-4), or a schedule ``count -> lr``.
        betas: (beta1, beta2), each in [0, 1) (default (0.9, 0.99)): beta1 interpolates the
            update direction, beta2 tracks the momentum.
        weight_decay: decoupled weight decay (default 0).
        maximize: maximize the objective.
    """

    _kernel = "lion"
    _state_codes = {"exp_avg": "signed"}

    def __init__(
        self,
        params: ParamsT,
        lr: LR = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
        nonfinite: str = "propagate",
        clip_norm: float | None = None,
        **precision: Any,
    ) -> None:
        defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, nonfinite=nonfinite, clip_norm=clip_norm,
                         **precision)

    _coefficients = staticmethod(lion_coefficients)
