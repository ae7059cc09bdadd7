"""Gradient policies of a step: non-finite gradients (propagate, skip or raise) and clipping by
the total 2-norm, both from one native pass over the grads before the update."""

from __future__ import annotations

import math
import numbers

from .. import _native
from .checks import param_label

__all__ = ["GradPolicies", "NONFINITE_POLICIES"]

NONFINITE_POLICIES = ("propagate", "skip", "raise")


class GradPolicies:
    """The ``nonfinite`` and ``clip_norm`` options of :class:`~fastoptim.optim.base.Optimizer`
    and the grad pass that serves them."""

    _names: list

    @property
    def nonfinite(self) -> str:
        """What a step does when a gradient holds NaN or inf.

        ``"propagate"`` (default, torch's behaviour, no cost): the update runs and the NaN/inf
        flows into params and state. ``"skip"``: the step is skipped — no param, state or step
        count changes — ``step()`` returns False and ``skipped_steps`` counts it.
        ``"raise"``: ``FloatingPointError`` naming the param, nothing changed. "skip" and
        "raise" read every gradient once more before the update (one native pass, 4 or 8
        bytes per element on top of the step's traffic).
        """
        return self._nonfinite

    @nonfinite.setter
    def nonfinite(self, value: str) -> None:
        if value not in NONFINITE_POLICIES:
            raise ValueError(f"nonfinite must be one of {NONFINITE_POLICIES}, got {value!r}")
        self._nonfinite = value
        self._fast = None  # the step's fast path is only for the default policies

    @property
    def clip_norm(self) -> float | None:
        """Clip the gradients' total 2-norm to this value at every step (None: off).

        Same result as ``clip_grad_norm_(grads, clip_norm)`` before the step (torch's
        ``coef = clip_norm / (norm + 1e-6)``, clamped to 1), but the grads are not modified:
        the coefficient is folded into the kernel's gradient scale, so a step clips and
        updates in two native passes and no Python loop.
        """
        return self._clip_norm

    @clip_norm.setter
    def clip_norm(self, value: float | None) -> None:
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"clip_norm must be a real number or None, got "
                                f"{type(value).__name__}")
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"clip_norm must be finite and >= 0, got {value}")
            value = float(value)
        self._clip_norm = value
        self._fast = None

    def _grad_scale(self, grads: list) -> float | None:
        """The clip coefficient (1.0 without clipping), or None to skip the step. The grads
        were validated; None grads (skipped params) take no part, as in torch's
        clip_grad_norm_ over the params that have a grad."""
        if any(g is None for g in grads):
            index = [i for i, g in enumerate(grads) if g is not None]
            grads = [grads[i] for i in index]
        else:
            index = range(len(grads))
        parts = _native.grad_reduce(grads, "sumsq")
        total_sq = math.fsum(parts)
        if not math.isfinite(total_sq) and self._nonfinite != "propagate":
            # sumsq is non-finite for NaN/inf, or (float64 only) for |g| > 1e154: count.
            suspects = [i for i, v in enumerate(parts) if not math.isfinite(v)]
            counts = _native.grad_reduce([grads[i] for i in suspects], "nonfinite")
            bad = [(i, int(c)) for i, c in zip(suspects, counts) if c]
            if bad:
                if self._nonfinite == "skip":
                    return None
                k, count = bad[0]
                i = index[k]
                raise FloatingPointError(
                    f"grad of param {param_label(self._names[i], i)} has {count} non-finite "
                    f"value(s) (NaN or inf); nothing was changed (nonfinite='raise')")
        self.last_grad_norm = math.sqrt(total_sq)
        if self._clip_norm is None:
            return 1.0
        coef = self._clip_norm / (self.last_grad_norm + 1e-6)
        return coef if not coef >= 1.0 else 1.0  # torch clamps to 1; NaN stays NaN
