"""NAdam: torch.optim.NAdam, and Keras's and optax's form of it."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from .base import LR, GradsT, Optimizer, ParamsT
from .checks import param_label as _label
from .coefficients import grad_coefficients, lerp_coefficients

__all__ = ["NAdam", "nadam_coefficients"]


def nadam_coefficients(
    options: dict[str, Any], lr: float, step: int, mu_product: float = 1.0
) -> tuple[dict[str, float], float]:
    """The nadam kernel's coefficients (cpp/kernels/nadam.hpp) for the ``step``-th step, in
    float64, and the product of the momentum coefficients mu_1 ... mu_t: shared by
    :class:`NAdam` and :func:`fastoptim.functional.nadam_`. ``mu_product``: the product
    through mu_{t-1} (1 before the first step; unused without ``momentum_schedule``, where
    mu_t = beta1 and the product is beta1^t)."""
    beta1, beta2 = (float(b) for b in options["betas"])
    if options["momentum_schedule"]:
        psi = float(options["momentum_decay"])
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * psi)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi)))
        mu_product = mu_product * mu
    else:  # optax's nadam: Adam with Nesterov momentum
        mu = mu_next = beta1
        mu_product = beta1**step
    return {
        **grad_coefficients(options, lr),
        **lerp_coefficients(1.0 - beta1),
        "beta2": beta2,
        "one_minus_beta2": 1.0 - beta2,
        "bias_correction2": 1.0 - beta2**step,
        "eps_root": float(options["eps_root"]),
        "eps": float(options["eps"]),
        # torch: value=(-lr * (1.0 - mu) / (1.0 - mu_product)) and
        # value=(-lr * mu_next) / (1.0 - mu_product * mu_next)
        "grad_coef": -lr * (1.0 - mu) / (1.0 - mu_product),
        "exp_avg_coef": (-lr * mu_next) / (1.0 - mu_product * mu_next),
    }, mu_product


class NAdam(Optimizer):
    r"""NAdam, Adam with Nesterov momentum (Dozat 2016, "Incorporating Nesterov Momentum into
    Adam") — ``torch.optim.NAdam``, the same formula, momentum schedule and operation order.

    For each param at step :math:`t` (1-based), with :math:`g` its gradient (negated if
    ``maximize``)::

        p     = p * (1 - lr * weight_decay)             (decoupled_weight_decay)
        g     = g + weight_decay * p                    (otherwise, if weight_decay != 0: L2)
        mu_t  = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))
        P_t   = P_{t-1} * mu_t                          (P_0 = 1: the product of the mu's)
        m     = m + (1 - beta1) * (g - m)               (torch's lerp)
        v     = beta2 * v + (1 - beta2) * g * g
        denom = sqrt(v / (1 - beta2^t) + eps_root) + eps
        p     = p - lr * (1 - mu_t) / (1 - P_t) * g / denom
        p     = p - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m / denom

    Source: torch.optim.NAdam (single-tensor path, torch 2.x); Dozat 2016, ICLR workshop,
    whose schedule mu_t = beta1 (1 - 0.5 * 0.96^(t/250)) torch generalizes with
    momentum_decay = 1/250.

    The other libraries' NAdam:

    - Keras computes mu_t = beta1 * (1 - 0.5 * 0.96^t) (keras/src/optimizers/nadam.py): that
      is ``momentum_decay=1.0`` here; the rest is torch's formula (eps 1e-7 by default).
    - optax's nadam is Adam with Nesterov momentum and no schedule, mu_t = beta1:
      ``p -= lr * (beta1 * m / (1 - beta1^(t+1)) + (1 - beta1) * g / (1 - beta1^t)) / denom``
      — ``momentum_schedule=False`` (and its ``eps_root``, added inside the square root).

    The schedule mu_t, mu_{t+1} and the running product ``P_t`` are computed in float64 on the
    Python side (torch keeps ``mu_product`` in its default dtype, float32 unless changed). P_t
    depends on the whole history of beta1 and momentum_decay, so it is state: one float per
    param group (the group's params step together), shown in ``state[p]["mu_product"]`` and
    saved in every param's entry of :meth:`state_dict` as a Python float, as torch does, and
    restored by :meth:`load_state_dict` (so a resumed run gives the same bits). It advances only
    when a step succeeds. State buffers (torch's names): ``exp_avg`` (m), ``exp_avg_sq`` (v).

    Args:
        params: arrays (list, dict name -> array, or param groups).
        lr: learning rate (default 2e-3), or a schedule ``count -> lr``.
        betas: (beta1, beta2), each in [0, 1) (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: weight decay (default 0): L2, or decoupled if ``decoupled_weight_decay``.
        momentum_decay: psi of the momentum schedule (default 4e-3).
        decoupled_weight_decay: AdamW-style decay (NAdamW), as torch's flag.
        maximize: maximize the objective.
        momentum_schedule: Dozat's schedule for mu_t (default True: torch, Keras); False:
            mu_t = beta1 (optax).
        eps_root: added to v / (1 - beta2^t) inside the square root (optax); default 0.
    """

    _kernel = "nadam"
    _state_codes = {"exp_avg": "signed", "exp_avg_sq": "unsigned"}

    def __init__(
        self,
        params: ParamsT,
        lr: LR = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
        momentum_schedule: bool = True,
        eps_root: float = 0.0,
        nonfinite: str = "propagate",
        clip_norm: float | None = None,
        **precision: Any,
    ) -> None:
        # The product of mu over a param's steps depends on the group's options at each step
        # and on the count: kept per (group, steps taken), for the counts params are at (as
        # torch's per-param mu_product, for params whose group options did not change while
        # they were at different counts).
        self._mu_product: dict[tuple[int, int], float] = {}
        self._mu_pending: dict[tuple[int, int], float] = {}  # for the step in progress
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        momentum_schedule=momentum_schedule, eps_root=eps_root)
        super().__init__(params, defaults, nonfinite=nonfinite, clip_norm=clip_norm,
                         **precision)

    def _coefficients_at(self, gi: int, group: dict[str, Any], lr: float, step: int,
                         fresh: bool) -> dict[str, float]:
        coefficients, self._mu_pending[(gi, step)] = nadam_coefficients(
            group, lr, step, self._mu_product.get((gi, step - 1), 1.0))
        return coefficients

    def step(self, grads: GradsT) -> bool:
        self._begin_step()
        applied = super().step(grads)
        if applied:
            self._commit_step()
        return applied

    def _begin_step(self) -> None:
        self._mu_pending = {}

    def _commit_step(self) -> None:
        # the step committed: so does the product of its mu's
        products = {**self._mu_product, **self._mu_pending}
        at = {(gi, taken) for gi, taken, _ in self._plan.row_keys}
        self._mu_product = {k: v for k, v in products.items() if k in at}

    step.__doc__ = Optimizer.step.__doc__

    def _param_state(self, i: int) -> dict[str, Any]:
        state = super()._param_state(i)
        if state:
            state["mu_product"] = self._mu_product.get((self._group_of[i], state["step"]), 1.0)
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` (see :meth:`Optimizer.load_state_dict`), with each
        group's ``mu_product`` from its params' entries (required where the step is > 0)."""
        products: dict[int, float] = {}
        state = state_dict.get("state") if isinstance(state_dict, Mapping) else None
        if isinstance(state, Mapping):
            stripped = {}
            for key, st in state.items():
                if isinstance(st, Mapping) and "mu_product" in st:
                    st = dict(st)
                    self._read_mu_product(key, st, st.pop("mu_product"), products)
                elif isinstance(st, Mapping) and self._valid_index(key) and _positive(
                    st.get("step")
                ):
                    raise ValueError(f"state_dict state[{key}] "
                                     f"({_label(self._names[key], key)}): no 'mu_product' "
                                     "(NAdam's product of momentum coefficients)")
                stripped[key] = st
            state_dict = {**state_dict, "state": stripped}
        super().load_state_dict(state_dict)
        self._mu_product = products

    def _valid_index(self, key: Any) -> bool:
        return (isinstance(key, numbers.Integral) and not isinstance(key, bool)
                and 0 <= key < len(self._params))

    def _read_mu_product(self, key: Any, st: Mapping[str, Any], value: Any,
                         products: dict[tuple[int, int], float]) -> None:
        """Validate one param's saved mu_product into ``products`` ((group, step) -> value)."""
        if not self._valid_index(key):
            return  # the base class refuses the key
        i = int(key)
        where = f"state_dict state[{i}] ({_label(self._names[i], i)})"
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            0.0 <= float(value) <= 1.0
        ):
            raise ValueError(f"{where}: 'mu_product' must be a number in [0, 1], got {value!r}")
        step = st.get("step")
        if isinstance(step, np.ndarray) and step.ndim == 0:
            step = step.item()
        if not _positive(step):
            return  # a count of 0 has no product (the base class checks the count itself)
        k = (self._group_of[i], int(step))
        if k in products and products[k] != float(value):
            raise ValueError(f"{where}: mu_product {float(value)!r} differs from "
                             f"{products[k]!r} of another param of param_groups[{k[0]}] at "
                             f"step {k[1]} (the product is a function of the count)")
        products[k] = float(value)


def _positive(step: Any) -> bool:
    """A valid step count > 0 (anything else is the base class's to refuse)."""
    if isinstance(step, np.ndarray) and step.ndim == 0:
        step = step.item()
    return isinstance(step, numbers.Integral) and not isinstance(step, bool) and step > 0
