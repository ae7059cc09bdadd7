"""The checks of optimizer options: each option name means the same range in every optimizer
(as in torch), and an error names the param group (or, for a functional call, the options)
and the problem."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Callable

import numpy as np

__all__ = ["OPTION_CHECKS", "EXTRA_GROUP_KEYS", "param_label", "check_number", "check_lr_value", "check_bool", "check_betas",
           "number_check", "choice_check"]

Check = Callable[[dict, str, int], None]

# Keys a param group may carry besides the optimizer's hyperparameters: torch-style schedulers
# add "initial_lr" (and OneCycleLR/CyclicLR their cycle bounds); "name" is a user label.
EXTRA_GROUP_KEYS = frozenset({
    "params", "param_names", "name", "initial_lr",
    "max_lr", "min_lr", "max_momentum", "base_momentum",
})


def param_label(name: str | None, index: int) -> str:
    """How an error names a param: its name, or its index across groups."""
    return repr(name) if name is not None else f"params[{index}]"

def check_number(
    group: dict[str, Any], key: str, index: int, *, low: float = 0.0, high: float | None = None,
    high_open: bool = False, allow_callable: bool = False,
) -> None:
    """Validate ``group[key]`` as a real number in [low, high] (or [low, high) if high_open)."""
    v = group[key]
    where = _where(index)
    if allow_callable and callable(v):
        return
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{where}: {key} must be a real number, got {type(v).__name__}")
    v = float(v)
    if not math.isfinite(v) or v < low or (
        high is not None and (v > high or (high_open and v == high))
    ):
        bound = "" if high is None else (f", < {high}" if high_open else f", <= {high}")
        raise ValueError(f"{where}: {key} must be finite and >= {low}{bound}, got {v}")


def _where(index: int) -> str:
    """How an error names the options checked: a param group, or (index < 0) the options of a
    functional call (fastoptim.functional)."""
    return f"param_groups[{index}]" if index >= 0 else "options"


def check_lr_value(lr: Any, index: int, key: str = "lr") -> float:
    """A value returned by a schedule (lr, weight_decay), validated at the step that uses it."""
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr >= 0 or math.isinf(lr):
        raise ValueError(f"{_where(index)}: {key} schedule returned {lr!r}, expected a "
                         "finite number >= 0")
    return float(lr)


def check_bool(group: dict[str, Any], key: str, index: int) -> None:
    v = group[key]
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{_where(index)}: {key} must be a bool, got {type(v).__name__}")


def check_betas(group: dict[str, Any], index: int, key: str = "betas") -> None:
    b = group[key]
    if not isinstance(b, (tuple, list)) or len(b) != 2:
        raise TypeError(f"{_where(index)}: {key} must be a pair (beta1, beta2), got {b!r}")
    for k, v in enumerate(b):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{_where(index)}: {key}[{k}] must be a real number, got "
                            f"{type(v).__name__}")
        if not 0.0 <= float(v) < 1.0:
            raise ValueError(f"{_where(index)}: {key}[{k}] must be in [0, 1), got {v}")
    # Stored as a tuple: the step's change detection compares option values, and a list
    # could change in place unseen.
    group[key] = (b[0], b[1])


# ------------------------------------------------------------ shared option checks
def number_check(**bounds: Any) -> Check:
    """A check of ``OPTION_CHECKS``: :func:`check_number` with these bounds."""
    return lambda group, key, index: check_number(group, key, index, **bounds)


def betas_check(group: dict[str, Any], key: str, index: int) -> None:
    """A check of ``OPTION_CHECKS``: :func:`check_betas` (both in [0, 1))."""
    check_betas(group, index, key)


def choice_check(*choices: str) -> Check:
    """A check of ``OPTION_CHECKS``: one of these strings."""
    def check(group: dict[str, Any], key: str, index: int) -> None:
        if not isinstance(group[key], str) or group[key] not in choices:
            raise ValueError(f"{_where(index)}: {key} must be one of {choices}, got "
                             f"{group[key]!r}")
    return check


def bool_pair_check(group: dict[str, Any], key: str, index: int) -> None:
    """A check of ``OPTION_CHECKS``: a bool, or a pair of bools (one per moment)."""
    v = group[key]
    if isinstance(v, (tuple, list)) and len(v) == 2:
        for k in range(2):
            check_bool({f"{key}[{k}]": v[k]}, f"{key}[{k}]", index)
        group[key] = (v[0], v[1])  # a tuple, as betas (see check_betas)
    elif not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{_where(index)}: {key} must be a bool or a pair of bools, got {v!r}")


#: lr: a number >= 0, or a schedule ``count -> lr`` (validated at each step).
LR_CHECK = number_check(allow_callable=True)
#: A finite number >= 0.
NONNEGATIVE = number_check()
#: A number in [0, 1) (decay rates).
UNIT_INTERVAL = number_check(high=1.0, high_open=True)

#: The check of every option name, shared by the optimizers' default ``_check_group``.
OPTION_CHECKS: Mapping[str, Check] = MappingProxyType({
    "lr": LR_CHECK,
    "betas": betas_check,                       # Adam family, Lion
    "eps": NONNEGATIVE,
    "weight_decay": number_check(allow_callable=True),  # or a schedule, as lr
    "momentum": NONNEGATIVE,                    # SGD, RMSprop
    "dampening": number_check(high=1.0),        # SGD
    "lr_decay": NONNEGATIVE,                    # Adagrad
    "initial_accumulator_value": NONNEGATIVE,   # Adagrad
    "momentum_decay": NONNEGATIVE,              # NAdam
    "alpha": UNIT_INTERVAL,                     # RMSprop
    "rho": UNIT_INTERVAL,                       # Adadelta (torch accepts rho = 1)
    "maximize": check_bool,
    "decoupled_weight_decay": check_bool,
    "amsgrad": check_bool,
    "nesterov": check_bool,
    "centered": check_bool,
    # Other libraries' conventions (python/fastoptim/keras.py, optax.py; README table).
    "eps_root": NONNEGATIVE,                    # Adam family: inside the sqrt (optax)
    "eps_hat": check_bool,                      # Adam: the paper's epsilon hat (TF/Keras)
    "amsgrad_max": choice_check("raw", "corrected"),  # Adam: max of v (torch) or v-hat (optax)
    "bias_correction": bool_pair_check,         # Adam: False = the paper's ablation
    "eps_in_sqrt": check_bool,                  # Adagrad, RMSprop (Keras, optax)
    "eps_in_max": check_bool,                   # Adamax: torch/optax True, Keras False
    "initial_square_avg": NONNEGATIVE,          # RMSprop (optax's initial_scale)
    "lr_in_momentum": check_bool,               # SGD, RMSprop (Keras, optax's rmsprop)
    "momentum_schedule": check_bool,            # NAdam: False = optax's nadam
})
