"""Schedulers made of schedulers: ``SequentialLR`` (one after another at milestones) and
``ChainedScheduler`` (all at once)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from ._checks import _check_int, _check_optimizer, _group_values
from .base import LRScheduler
from .plateau import ReduceLROnPlateau

__all__ = ["ChainedScheduler", "SequentialLR"]


class SequentialLR(LRScheduler):
    """Run ``schedulers[i]`` from ``milestones[i - 1]`` on; each later one restarts
    from its closed form at epoch 0 when its milestone is reached (torch semantics)."""

    def __init__(
        self,
        optimizer: Any,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer, type(self).__name__)
        _check_sub_schedulers(type(self).__name__, optimizer, schedulers)
        ms = [_check_int(f"milestones[{i}]", m, 0) for i, m in enumerate(milestones)]
        if len(ms) != len(schedulers) - 1:
            raise ValueError(
                "SequentialLR needs one milestone less than schedulers, got "
                f"{len(schedulers)} schedulers and {len(ms)} milestones"
            )
        if any(b <= a for a, b in zip(ms, ms[1:])):
            raise ValueError(f"milestones must be strictly increasing, got {ms}")
        self._schedulers = list(schedulers)
        self._milestones = ms
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # Each sub-scheduler already took its initial step on construction;
        # undo that and redo it for the first active one only, as torch does.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self.recursive_undo()
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def recursive_undo(self, sched: Any = None) -> None:
        """Decrement ``last_epoch`` of every (nested) sub-scheduler."""
        scheds = self if sched is None else sched
        if hasattr(scheds, "_schedulers"):
            for s in scheds._schedulers:
                self.recursive_undo(s)
        elif hasattr(scheds, "last_epoch"):
            scheds.last_epoch -= 1

    def step(self) -> None:  # type: ignore[override]
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        return _composite_state(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _load_composite_state(self, state_dict)


class ChainedScheduler(LRScheduler):
    """Step several schedulers of one optimizer together; their (chainable)
    effects multiply, e.g. ``ConstantLR`` warmup on top of ``ExponentialLR``."""

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Any = None) -> None:
        if not schedulers:
            raise ValueError("ChainedScheduler expects at least one scheduler, got none")
        if optimizer is None:
            optimizer = getattr(schedulers[0], "optimizer", None)
        _check_sub_schedulers(type(self).__name__, optimizer, schedulers)
        _check_optimizer(optimizer, type(self).__name__)
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = _group_values(self._schedulers[-1].optimizer, "lr")

    def step(self) -> None:  # type: ignore[override]
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = _group_values(self._schedulers[-1].optimizer, "lr")

    def state_dict(self) -> dict[str, Any]:
        return _composite_state(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _load_composite_state(self, state_dict)


def _check_sub_schedulers(who: str, optimizer: Any, schedulers: Sequence[Any]) -> None:
    if not schedulers:
        raise ValueError(f"{who} expects at least one scheduler, got none")
    for i, s in enumerate(schedulers):
        if not isinstance(s, LRScheduler):
            raise TypeError(f"{who}: schedulers[{i}] is not an LRScheduler: {type(s).__name__}")
        if isinstance(s, ReduceLROnPlateau):
            # torch raises ValueError; TypeError says better what is wrong.
            raise TypeError(
                f"{who} does not support ReduceLROnPlateau (schedulers[{i}]): its step() "
                "needs a metric"
            )
        if s.optimizer is not optimizer:
            raise ValueError(f"{who}: schedulers[{i}] belongs to a different optimizer")


def _composite_state(sched: Any) -> dict[str, Any]:
    state = {k: v for k, v in sched.__dict__.items() if k not in ("optimizer", "_schedulers")}
    state["_schedulers"] = [s.state_dict() for s in sched._schedulers]
    return state


def _load_composite_state(sched: Any, state_dict: dict[str, Any]) -> None:
    state = dict(state_dict)
    subs = state.pop("_schedulers")
    sched.__dict__.update(state)
    for s, sub_state in zip(sched._schedulers, subs):
        s.load_state_dict(sub_state)
