"""``LRScheduler``: the base class (initial step, ``step``/``step(epoch)``, state dict)."""

from __future__ import annotations

from typing import Any

from ._checks import _check_int, _check_lrs, _check_optimizer, _group_values

__all__ = ["LRScheduler"]


class LRScheduler:
    """Base class: adjusts ``group["lr"]`` of ``optimizer.param_groups`` on :meth:`step`.

    On construction (``last_epoch=-1``) each group gets ``"initial_lr"`` (kept
    if already there), ``base_lrs`` is read from it and one initial step is
    taken, so ``last_epoch`` becomes 0. Subclasses implement :meth:`get_lr`
    (recursive form, used by ``step()``) and optionally
    ``_get_closed_form_lr`` (used by ``step(epoch)``).
    """

    _is_initial: bool = False

    def __init__(self, optimizer: Any, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer, type(self).__name__)
        last_epoch = _check_int("last_epoch", last_epoch, -1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                        "a scheduler with last_epoch >= 0 (load the optimizer state first)"
                    )
        self.base_lrs: list[float] = _group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer, as in torch: ``last_epoch``, ``base_lrs``,
        ``_last_lr``, the step count and the scheduler's own arguments, in a plain dict (a
        torch scheduler's state dict loads here, tested)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict`: its entries replace this scheduler's attributes
        (torch's ``load_state_dict``; the optimizer is not part of it).

        Load the optimizer's state too (its ``param_groups`` hold the current lr, and
        ``initial_lr``): the next :meth:`step` then gives the learning rate the saved scheduler
        would have given.
        """
        self.__dict__.update(state_dict)

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last :meth:`step`, one per param group."""
        return list(self._last_lr)

    def get_lr(self) -> list[float]:
        """The learning rates for epoch ``last_epoch``, one per param group, computed as
        torch's ``get_lr`` does (mostly recursively, from the groups' current ``"lr"``).

        Called by :meth:`step` after it advances ``last_epoch``; a subclass implements it
        (``step(epoch)`` uses the subclass's closed form ``_get_closed_form_lr`` where there is
        one), which writes the returned rates into the groups' ``"lr"``; ``CyclicLR`` and
        ``OneCycleLR`` set the cycled momentum here too, as torch's do. To read the rates in
        effect, use :meth:`get_last_lr`.
        """
        raise NotImplementedError

    def step(self, epoch: int | None = None) -> None:
        """Advance one step; with ``epoch``, jump there using the closed form if any."""
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch: float | None = None) -> None:
        _check_lrs(self.optimizer)
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch  # type: ignore[assignment]
            closed_form = getattr(self, "_get_closed_form_lr", None)
            values = closed_form() if closed_form is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = float(lr)  # float(x) is exact for floats; keeps the C++ core happy
        self._last_lr = _group_values(self.optimizer, "lr")
