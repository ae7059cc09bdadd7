"""Argument checks and param-group helpers shared by the schedulers."""

from __future__ import annotations

import numbers
from typing import Any


def _check_optimizer(optimizer: Any, who: str) -> None:
    groups = getattr(optimizer, "param_groups", None)
    if not isinstance(groups, (list, tuple)) or not all(isinstance(g, dict) for g in groups):
        raise TypeError(
            f"{who} needs an optimizer with a `param_groups` list of dicts, "
            f"got {type(optimizer).__name__}"
        )
    _check_lrs(optimizer)


def _check_lrs(optimizer: Any) -> None:
    # Run before every update: a schedule callable in group["lr"] would
    # otherwise surface as an obscure "unsupported operand" error mid-training.
    for i, group in enumerate(optimizer.param_groups):
        if "lr" not in group:
            raise KeyError(f"param_groups[{i}] has no 'lr' entry")
        lr = group["lr"]
        if callable(lr):
            raise TypeError(
                f"param_groups[{i}]['lr'] is a schedule callable ({lr!r}); LR schedulers need a "
                "float lr. Use either a schedule or an LRScheduler, not both (a schedule can be "
                "wrapped as LambdaLR(opt, schedule) with a float base lr)."
            )
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
            raise TypeError(f"param_groups[{i}]['lr'] must be a float, got {type(lr).__name__}")


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_range(name: str, value: Any, lo: float, hi: float, lo_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not (lo < value if lo_open else lo <= value) or not value <= hi:
        interval = f"{'(' if lo_open else '['}{lo}, {hi}]"
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return value


def _format_param(name: str, optimizer: Any, param: Any) -> list[Any]:
    # One value per param group: broadcast a scalar, check a list's length.
    n = len(optimizer.param_groups)
    if isinstance(param, (list, tuple)):
        if len(param) != n:
            raise ValueError(f"{name} must have one value per param group ({n}), got {len(param)}")
        return list(param)
    return [param] * n


def _group_values(optimizer: Any, key: str) -> list[Any]:
    return [group[key] for group in optimizer.param_groups]
