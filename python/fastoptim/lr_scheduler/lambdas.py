"""Schedulers driven by user callables: ``LambdaLR`` and ``MultiplicativeLR``."""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from typing import Any

from ._checks import _check_optimizer, _group_values
from .base import LRScheduler

__all__ = ["LambdaLR", "MultiplicativeLR"]


def _lambdas_state(lr_lambdas: list[Callable[[int], float]]) -> list[Any]:
    # As torch: plain functions are not saved (they are code, not state);
    # callable objects (e.g. fastoptim schedules) save their __dict__.
    return [
        None if isinstance(fn, types.FunctionType) else dict(getattr(fn, "__dict__", {}))
        for fn in lr_lambdas
    ]


class _LambdaScheduler(LRScheduler):
    """Shared argument handling and state of LambdaLR and MultiplicativeLR."""

    def __init__(
        self,
        optimizer: Any,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer, type(self).__name__)
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"lr_lambda must be callable, got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = _lambdas_state(self.lr_lambdas)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        lambdas = state.pop("lr_lambdas")
        self.__dict__.update(state)
        for fn, saved in zip(self.lr_lambdas, lambdas):
            if saved is not None:
                fn.__dict__.update(saved)


class LambdaLR(_LambdaScheduler):
    """``lr = base_lr * lr_lambda(epoch)``; ``lr_lambda`` sees 0 on construction.

    Any :mod:`fastoptim.schedules` schedule works as ``lr_lambda`` (with
    ``base_lr`` 1.0 its value is the lr itself).
    """

    def get_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaScheduler):
    """``lr = lr * lr_lambda(epoch)`` on every step after construction."""

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return _group_values(self.optimizer, "lr")
        return [
            group["lr"] * fn(self.last_epoch)
            for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups)
        ]
