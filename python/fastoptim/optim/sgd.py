"""SGD with momentum and Nesterov momentum: torch.optim.SGD."""

from __future__ import annotations

from typing import Any, Callable

from .. import _native
from .base import LR, Optimizer, ParamsT
from .coefficients import grad_parts

__all__ = ["SGD", "sgd_coefficients", "sgd_row"]


def sgd_coefficients(
    options: dict[str, Any], lr: float, step: int, fresh: bool = False
) -> dict[str, float]:
    """The sgd kernel's coefficients (cpp/kernels/sgd.hpp) for one step, in float64: shared by
    :class:`SGD` and :func:`fastoptim.functional.sgd_`. ``fresh``: the momentum buffer is
    initialized from this step's gradient (torch's clone)."""
    return dict(zip(_NAMES, sgd_row(options, fresh)(lr, step)))


_NAMES: tuple[str, ...] = tuple(_native.kernel_specs["sgd"][1])
# sgd_row returns its tuple in this order (cpp/kernels/sgd.hpp's coefficient list)
assert _NAMES == ("sign", "decay", "weight_decay", "momentum", "one_minus_dampening",
                  "nesterov", "init_buffer", "neg_lr"), _NAMES


def sgd_row(options: dict[str, Any],
            fresh: bool = False) -> Callable[[float, int], tuple[float, ...]]:
    """:func:`sgd_coefficients` as a row in kernel order, built once per option set (and
    ``fresh``): the returned ``row(lr, step)`` computes only what depends on lr."""
    fixed, rate = grad_parts(options)
    sign, wd = fixed["sign"], fixed["weight_decay"]
    momentum = float(options["momentum"])
    one_minus_dampening = 1.0 - float(options["dampening"])
    nesterov, init = float(bool(options["nesterov"])), float(fresh)

    if options["lr_in_momentum"]:
        # g' = -lr * g goes into the buffer and p += buf: the kernel's own loop with its
        # gradient scale and L2 term times -lr, and 1 for the step (p + 1 * x is exact).
        def row(lr: float, step: int) -> tuple[float, ...]:
            return (-lr * sign, 1.0 - lr * rate, -lr * wd, momentum, one_minus_dampening,
                    nesterov, init, 1.0)
    else:
        def row(lr: float, step: int) -> tuple[float, ...]:
            return (sign, 1.0 - lr * rate, wd, momentum, one_minus_dampening, nesterov, init,
                    -lr)

    return row


class SGD(Optimizer):
    r"""Stochastic gradient descent with (Nesterov) momentum — ``torch.optim.SGD``.

    For each param, with :math:`g` its gradient (negated if ``maximize``)::

        p   = p * (1 - lr * weight_decay)                 (decoupled_weight_decay)
        g   = g + weight_decay * p                        (otherwise, if weight_decay != 0: L2)
        buf = g                                           (first step)
        buf = momentum * buf + (1 - dampening) * g        (later steps)
        g   = g + momentum * buf   if nesterov   else   g = buf
        p   = p - lr * g

    Source: torch.optim.SGD (Sutskever et al. 2013 for the momentum form; Nesterov as in
    torch's docs); optax.sgd computes the same (``trace``: buf = g + momentum * buf).

    ``lr_in_momentum=True`` is Keras's form, the seeds' ``Δw ← αΔw − η∇E``: the buffer
    accumulates ``-lr * g`` and is added to p::

        buf = momentum * buf - lr * g;  p = p + buf              (Keras SGD)
        p   = p + momentum * buf - lr * g                         (Keras SGD, nesterov)

    For a constant lr both forms give the same trajectory up to rounding; under an lr schedule
    they differ (a change of lr reaches the buffered steps only in torch's form). The
    ``momentum_buffer`` state then holds ``-lr``-scaled velocities. Keras's ``weight_decay`` is
    ``decoupled_weight_decay=True``.

    Args:
        params: arrays (list, dict name -> array, or param groups).
        lr: learning rate (default 1e-3, as torch), or a schedule ``count -> lr``.
        momentum: momentum factor (default 0).
        dampening: dampening of the momentum (default 0).
        weight_decay: L2 penalty added to the gradient (default 0).
        nesterov: Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize: maximize the objective instead of minimizing it.
        decoupled_weight_decay: decay the params by ``1 - lr * weight_decay`` instead of adding
            the L2 term to the gradient (Keras's ``weight_decay``; torch's SGD has only L2).
        lr_in_momentum: the lr inside the momentum buffer (Keras); False: outside (torch,
            optax).
    """

    _kernel = "sgd"
    _state_codes = {"momentum_buffer": "signed"}
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
        decoupled_weight_decay: bool = False,
        lr_in_momentum: bool = False,
        nonfinite: str = "propagate",
        clip_norm: float | None = None,
        **precision: Any,
    ) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay,
                        lr_in_momentum=lr_in_momentum)
        super().__init__(params, defaults, nonfinite=nonfinite, clip_norm=clip_norm,
                         **precision)

    def _check_group(self, group: dict[str, Any], index: int) -> None:
        super()._check_group(group, index)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"param_groups[{index}]: nesterov requires momentum > 0 and "
                             "zero dampening")

    def _state_layout(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("momentum_buffer",) if group["momentum"] != 0 else ()

    _coefficients = staticmethod(sgd_coefficients)

    def _row_maker(self, gi: int, group: dict[str, Any]) -> Callable[[float, int], tuple]:
        return sgd_row(group)
