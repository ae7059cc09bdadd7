"""RMSprop, plain and centered: torch.optim.RMSprop, and Keras's and optax's form of it."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import LR, Optimizer, ParamsT
from .coefficients import eps_coefficients, grad_coefficients, lerp_coefficients

__all__ = ["RMSprop", "rmsprop_coefficients"]


def rmsprop_coefficients(
    options: dict[str, Any], lr: float, step: int, fresh: bool = False
) -> dict[str, float]:
    """The rmsprop kernel's coefficients (cpp/kernels/rmsprop.hpp) for one step, in float64:
    shared by :class:`RMSprop` and :func:`fastoptim.functional.rmsprop_`."""
    alpha = float(options["alpha"])
    momentum = float(options["momentum"])
    lr_inside = bool(options["lr_in_momentum"]) and momentum != 0
    return {
        **grad_coefficients(options, lr),
        "alpha": alpha,
        "one_minus_alpha": 1.0 - alpha,
        "centered": float(bool(options["centered"])),
        **lerp_coefficients(1.0 - alpha),
        **eps_coefficients(options["eps"], options["eps_in_sqrt"]),
        "momentum": momentum,
        # lr inside: buf = momentum * buf + lr * g / avg; p = p + (-1) * buf (Keras).
        "buffer_lr": lr if lr_inside else 1.0,
        "neg_lr": -1.0 if lr_inside else -lr,
    }


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, Lecture 6e of "Neural Networks for Machine Learning", 2012; centered
    form from Graves 2013, "Generating Sequences With Recurrent Neural Networks") —
    ``torch.optim.RMSprop``, the same formula and operation order.

    For each param, with :math:`g` its gradient (negated if ``maximize``)::

        p   = p * (1 - lr * weight_decay)               (decoupled_weight_decay)
        g   = g + weight_decay * p                      (otherwise, if weight_decay != 0: L2)
        sa  = alpha * sa + (1 - alpha) * g * g
        ga  = ga + (1 - alpha) * (g - ga)               (centered; torch's lerp)
        avg = sqrt(sa - ga * ga) + eps                  (centered)
        avg = sqrt(sa) + eps                            (otherwise)
        buf = momentum * buf + g / avg;  p = p - lr * buf        (momentum > 0)
        p   = p - lr * g / avg                                   (otherwise)

    Source: torch.optim.RMSprop (single-tensor path, torch 2.x); Hinton, Lecture 6e of
    "Neural Networks for Machine Learning" (2012); centered form: Graves 2013, Eqs. 38-41.
    eps is added outside the square root, as torch. State (torch's names): ``square_avg``
    (sa, starting at ``initial_square_avg``), ``momentum_buffer`` (momentum > 0), ``grad_avg``
    (centered), zeros at the start as torch.

    Keras and optax (keyword-only options; the defaults are torch's):

    - ``eps_in_sqrt=True``: ``avg = sqrt(sa + eps)`` (centered: ``sqrt(sa - ga * ga + eps)``),
      Keras's and optax's default.
    - ``lr_in_momentum=True``: the lr inside the buffer, ``buf = momentum * buf + lr * g / avg;
      p = p - buf`` (Keras; optax's ``trace`` after ``scale_by_learning_rate`` too). The same
      trajectory as torch's for a constant lr, up to rounding.
    - ``initial_square_avg``: optax's ``initial_scale`` (TF1 used 1); default 0.
    - ``decoupled_weight_decay=True``: Keras's ``weight_decay``.

    Keras's smoothing constant is called ``rho`` (default 0.9), optax's ``decay`` (0.9); both
    are ``alpha`` here.

    Args:
        params: arrays (list, dict name -> array, or param groups).
        lr: learning rate (default 1e-2), or a schedule ``count -> lr``.
        alpha: smoothing constant in [0, 1) (default 0.99).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty added to the gradient (default 0).
        momentum: momentum factor (default 0).
        centered: divide by the estimated variance instead of the second moment.
        maximize: maximize the objective.
        decoupled_weight_decay: decay the params by ``1 - lr * weight_decay`` instead of adding
            the L2 term to the gradient (Keras's ``weight_decay``).
        eps_in_sqrt: eps inside the square root (Keras, optax); default False (torch).
        lr_in_momentum: the lr inside the momentum buffer (Keras, optax); default False
            (torch).
        initial_square_avg: starting value of ``square_avg`` (default 0).
    """

    _kernel = "rmsprop"
    _state_codes = {"square_avg": "unsigned", "momentum_buffer": "signed",
                    "grad_avg": "signed"}

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
        decoupled_weight_decay: bool = False,
        eps_in_sqrt: bool = False,
        lr_in_momentum: bool = False,
        initial_square_avg: float = 0.0,
        nonfinite: str = "propagate",
        clip_norm: float | None = None,
        **precision: Any,
    ) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay, eps_in_sqrt=eps_in_sqrt,
                        lr_in_momentum=lr_in_momentum, initial_square_avg=initial_square_avg)
        super().__init__(params, defaults, nonfinite=nonfinite, clip_norm=clip_norm,
                         **precision)

    def _state_layout(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("square_avg",) + (("momentum_buffer",) if group["momentum"] > 0 else ()) + (
            ("grad_avg",) if group["centered"] else ())

    def _fill_value(self, name: str, group: dict[str, Any]) -> float:
        return float(group["initial_square_avg"]) if name == "square_avg" else 0.0

    _coefficients = staticmethod(rmsprop_coefficients)
