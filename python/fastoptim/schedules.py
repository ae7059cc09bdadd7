"""Learning-rate schedules as pure, composable callables (optax convention).

A schedule maps ``count`` -- the number of optimizer steps already taken, so
``0`` on the first step -- to a Python ``float``::

    >>> from fastoptim import schedules
    >>> lr = schedules.warmup_cosine(0.0, 1e-3, warmup_steps=100, decay_steps=1000)
    >>> lr(0), lr(100), lr(1000)
    (0.0, 0.001, 0.0)

Schedules can be stored as ``group["lr"]`` of a fastoptim optimizer, nested
(:func:`join`, :func:`warmup`), used as the ``lr_lambda`` of
:class:`fastoptim.lr_scheduler.LambdaLR`, pickled and compared. Each one is a
small :class:`Schedule` instance whose ``repr`` is the call that rebuilds it.

The formulas follow optax (``optax/schedules/_schedule.py`` and ``_join.py``;
older releases keep them in ``optax/_src/schedule.py``) evaluated in float64,
except that arguments optax documents as "must be positive" are validated here
instead of being silently replaced by a constant schedule.
"""

from __future__ import annotations

import math
import numbers
import operator
from bisect import bisect_right
from collections.abc import Callable, Iterable
from typing import Any, SupportsIndex

__all__ = [
    "Schedule",
    "constant",
    "cosine_decay",
    "cosine_restarts",
    "exponential_decay",
    "join",
    "linear",
    "multi_step",
    "one_cycle",
    "polynomial",
    "step_decay",
    "warmup",
    "warmup_cosine",
]


# ----------------------------------------------------------------------------- validation


def _count(count: Any) -> int:
    # bool is an int subclass, but a True/False count is always a bug.
    if isinstance(count, bool):
        raise TypeError("count must be an integer, got bool")
    try:
        # operator.index accepts int, NumPy integers and 0-d integer arrays, and
        # refuses floats, so 2.5 (or 2.0) is never silently truncated.
        n = operator.index(count)
    except TypeError:
        raise TypeError(f"count must be an integer, got {type(count).__name__}") from None
    if n < 0:
        raise ValueError(f"count must be >= 0, got {n}")
    return n


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _positive(name: str, value: Any) -> float:
    value = _real(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def _int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _increasing(name: str, values: Any, minimum: int) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of integers, got {type(values).__name__}")
    out = tuple(_int(f"{name}[{i}]", v, minimum) for i, v in enumerate(values))
    if any(b <= a for a, b in zip(out, out[1:])):
        raise ValueError(f"{name} must be strictly increasing, got {list(out)}")
    return out


def _as_schedule(name: str, value: Any) -> Callable[[int], float]:
    if callable(value):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return Constant(value)
    raise TypeError(f"{name} must be a schedule (callable) or a number, got {type(value).__name__}")


# ----------------------------------------------------------------------------- base class


class Schedule:
    """Base class of all schedules: ``schedule(count) -> float``.

    Subclasses store their (validated) constructor arguments under the names
    listed in ``_fields`` and implement :meth:`_value` for a checked ``count``;
    ``repr``, equality and hashing are derived from those fields.
    """

    _name = "schedule"  # public factory name, used by repr
    _fields: tuple[str, ...] = ()

    def __call__(self, count: SupportsIndex) -> float:
        return float(self._value(_count(count)))

    def _value(self, count: int) -> float:
        raise NotImplementedError

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._fields)

    def __repr__(self) -> str:
        args = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{self._name}({args})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self._key()))


# ----------------------------------------------------------------------------- schedules


class Constant(Schedule):
    """``value`` at every count (optax ``constant_schedule``)."""

    _name = "constant"
    _fields = ("value",)

    def __init__(self, value: float) -> None:
        self.value = _real("value", value)

    def _value(self, count: int) -> float:
        return self.value


class StepDecay(Schedule):
    """``init_value * gamma ** (count // step_size)``.

    Closed form of ``torch.optim.lr_scheduler.StepLR`` with ``count`` = epoch.
    """

    _name = "step_decay"
    _fields = ("init_value", "step_size", "gamma")

    def __init__(self, init_value: float, step_size: int, gamma: float = 0.1) -> None:
        self.init_value = _real("init_value", init_value)
        self.step_size = _int("step_size", step_size, 1)
        self.gamma = _real("gamma", gamma)

    def _value(self, count: int) -> float:
        return self.init_value * self.gamma ** (count // self.step_size)


class MultiStep(Schedule):
    """``init_value * gamma ** (number of milestones <= count)``.

    Closed form of ``torch.optim.lr_scheduler.MultiStepLR``; ``milestones``
    must be strictly increasing positive integers.
    """

    _name = "multi_step"
    _fields = ("init_value", "milestones", "gamma")

    def __init__(self, init_value: float, milestones: Iterable[int], gamma: float = 0.1) -> None:
        self.init_value = _real("init_value", init_value)
        self.milestones = _increasing("milestones", milestones, 1)
        self.gamma = _real("gamma", gamma)

    def _value(self, count: int) -> float:
        return self.init_value * self.gamma ** bisect_right(self.milestones, count)


class ExponentialDecay(Schedule):
    """Exponential decay (optax ``exponential_decay``).

    With ``t = count - transition_begin``: ``init_value`` while ``t <= 0``,
    else ``init_value * decay_rate ** (t / transition_steps)`` (the exponent is
    floored when ``staircase``). ``end_value``, if given, is a lower bound when
    ``decay_rate < 1`` and an upper bound otherwise.
    """

    _name = "exponential_decay"
    _fields = (
        "init_value",
        "transition_steps",
        "decay_rate",
        "transition_begin",
        "staircase",
        "end_value",
    )

    def __init__(
        self,
        init_value: float,
        transition_steps: int,
        decay_rate: float,
        transition_begin: int = 0,
        staircase: bool = False,
        end_value: float | None = None,
    ) -> None:
        self.init_value = _real("init_value", init_value)
        self.transition_steps = _int("transition_steps", transition_steps, 1)
        # optax documents "must not be zero"; a negative rate would also make a
        # fractional power complex, so require > 0.
        self.decay_rate = _positive("decay_rate", decay_rate)
        self.transition_begin = _int("transition_begin", transition_begin, 0)
        self.staircase = bool(staircase)
        self.end_value = None if end_value is None else _real("end_value", end_value)

    def _value(self, count: int) -> float:
        t = count - self.transition_begin
        if t <= 0:
            value = self.init_value
        elif self.staircase:
            value = self.init_value * self.decay_rate ** (t // self.transition_steps)
        else:
            value = self.init_value * self.decay_rate ** (t / self.transition_steps)
        if self.end_value is None:
            return value
        # optax clips every value, the pre-transition init_value included.
        clip = max if self.decay_rate < 1.0 else min
        return clip(value, self.end_value)


class CosineDecay(Schedule):
    """Cosine decay (optax ``cosine_decay_schedule``).

    ``init_value * ((1 - alpha) * c ** exponent + alpha)`` with
    ``c = (1 + cos(pi * min(count, decay_steps) / decay_steps)) / 2``, so the
    value ends at ``alpha * init_value`` and stays there.
    """

    _name = "cosine_decay"
    _fields = ("init_value", "decay_steps", "alpha", "exponent")

    def __init__(
        self, init_value: float, decay_steps: int, alpha: float = 0.0, exponent: float = 1.0
    ) -> None:
        self.init_value = _real("init_value", init_value)
        self.decay_steps = _int("decay_steps", decay_steps, 1)
        self.alpha = _real("alpha", alpha)
        # c reaches exactly 0 at the end, and 0 ** (negative) raises.
        self.exponent = _positive("exponent", exponent)

    def _value(self, count: int) -> float:
        c = 0.5 * (1 + math.cos(math.pi * min(count, self.decay_steps) / self.decay_steps))
        return self.init_value * ((1 - self.alpha) * c**self.exponent + self.alpha)


class Polynomial(Schedule):
    """Polynomial transition (optax ``polynomial_schedule``).

    ``(init_value - end_value) * (1 - t / transition_steps) ** power + end_value``
    with ``t = clip(count - transition_begin, 0, transition_steps)``.
    """

    _name = "polynomial"
    _fields = ("init_value", "end_value", "power", "transition_steps", "transition_begin")

    def __init__(
        self,
        init_value: float,
        end_value: float,
        power: float,
        transition_steps: int,
        transition_begin: int = 0,
    ) -> None:
        self.init_value = _real("init_value", init_value)
        self.end_value = _real("end_value", end_value)
        # The base reaches exactly 0 at the end, and 0 ** (negative) raises.
        self.power = _positive("power", power)
        self.transition_steps = _int("transition_steps", transition_steps, 1)
        self.transition_begin = _int("transition_begin", transition_begin, 0)

    def _value(self, count: int) -> float:
        t = min(max(count - self.transition_begin, 0), self.transition_steps)
        if t == 0:
            # Mathematically what optax computes, but (init - end) * 1 + end can
            # be an ulp off init_value; return it exactly.
            return self.init_value
        frac = 1 - t / self.transition_steps
        return (self.init_value - self.end_value) * frac**self.power + self.end_value


class Linear(Polynomial):
    """Linear transition (optax ``linear_schedule``): :class:`Polynomial` with power 1.

    ``init_value`` until ``transition_begin``, then linearly to ``end_value``
    over ``transition_steps`` steps, then ``end_value``.
    """

    _name = "linear"
    _fields = ("init_value", "end_value", "transition_steps", "transition_begin")

    def __init__(
        self, init_value: float, end_value: float, transition_steps: int, transition_begin: int = 0
    ) -> None:
        # Same arithmetic as optax, which also delegates to the polynomial.
        super().__init__(init_value, end_value, 1.0, transition_steps, transition_begin)


class Join(Schedule):
    """Sequence of schedules (optax ``join_schedules``).

    ``schedules[i](count - boundaries[i - 1])`` where ``i`` is the number of
    boundaries ``<= count``; each schedule thus restarts at count 0. Only the
    active schedule is evaluated (optax evaluates all of them).
    """

    _name = "join"
    _fields = ("schedules", "boundaries")

    def __init__(self, schedules: Iterable[Any], boundaries: Iterable[int]) -> None:
        if isinstance(schedules, (str, bytes)) or not isinstance(schedules, Iterable):
            raise TypeError(f"schedules must be a sequence, got {type(schedules).__name__}")
        self.schedules = tuple(_as_schedule(f"schedules[{i}]", s) for i, s in enumerate(schedules))
        if not self.schedules:
            raise ValueError("schedules must not be empty")
        self.boundaries = _increasing("boundaries", boundaries, 0)
        if len(self.boundaries) != len(self.schedules) - 1:
            raise ValueError(
                "boundaries must have one entry less than schedules, got "
                f"{len(self.boundaries)} boundaries for {len(self.schedules)} schedules"
            )

    def _value(self, count: int) -> float:
        i = bisect_right(self.boundaries, count)
        return self.schedules[i](count - self.boundaries[i - 1] if i else count)


class Warmup(Schedule):
    """Linear warmup in front of another schedule.

    For ``count < warmup_steps`` the value goes linearly (optax
    ``linear_schedule``) from ``init_value`` to ``schedule(0)``; afterwards it
    is ``schedule(count - warmup_steps)``. A number is taken as a constant
    schedule. ``warmup_steps=0`` means no warmup.
    """

    _name = "warmup"
    _fields = ("schedule_or_value", "warmup_steps", "init_value")

    def __init__(self, schedule_or_value: Any, warmup_steps: int, init_value: float = 0.0) -> None:
        self.schedule_or_value = _as_schedule("schedule_or_value", schedule_or_value)
        self.warmup_steps = _int("warmup_steps", warmup_steps, 0)
        self.init_value = _real("init_value", init_value)
        self._impl: Callable[[int], float] = self.schedule_or_value
        if self.warmup_steps:
            peak = _real("schedule_or_value(0)", self.schedule_or_value(0))
            ramp = Linear(self.init_value, peak, self.warmup_steps)
            self._impl = Join([ramp, self.schedule_or_value], [self.warmup_steps])

    def _value(self, count: int) -> float:
        return self._impl(count)


class WarmupCosine(Schedule):
    """Linear warmup then cosine decay (optax ``warmup_cosine_decay_schedule``).

    Linear from ``init_value`` to ``peak_value`` over ``warmup_steps``, then
    :class:`CosineDecay` from ``peak_value`` to ``end_value`` over the
    remaining ``decay_steps - warmup_steps`` steps (``decay_steps`` is the
    total length, warmup included).
    """

    _name = "warmup_cosine"
    _fields = ("init_value", "peak_value", "warmup_steps", "decay_steps", "end_value", "exponent")

    def __init__(
        self,
        init_value: float,
        peak_value: float,
        warmup_steps: int,
        decay_steps: int,
        end_value: float = 0.0,
        exponent: float = 1.0,
    ) -> None:
        self.init_value = _real("init_value", init_value)
        self.peak_value = _real("peak_value", peak_value)
        self.warmup_steps = _int("warmup_steps", warmup_steps, 0)
        self.decay_steps = _int("decay_steps", decay_steps, 1)
        if self.decay_steps <= self.warmup_steps:
            raise ValueError(
                "decay_steps must be > warmup_steps (decay_steps includes the warmup), got "
                f"decay_steps={self.decay_steps}, warmup_steps={self.warmup_steps}"
            )
        self.end_value = _real("end_value", end_value)
        self.exponent = _positive("exponent", exponent)
        # Same construction as optax, so end_value is reached as peak * (end / peak).
        alpha = 0.0 if self.peak_value == 0.0 else self.end_value / self.peak_value
        ramp: Schedule = (
            Linear(self.init_value, self.peak_value, self.warmup_steps)
            if self.warmup_steps
            else Constant(self.init_value)  # never reached: the boundary is 0
        )
        decay = CosineDecay(
            self.peak_value, self.decay_steps - self.warmup_steps, alpha, self.exponent
        )
        self._impl = Join([ramp, decay], [self.warmup_steps])

    def _value(self, count: int) -> float:
        return self._impl._value(count)


class OneCycle(Schedule):
    """One-cycle policy with cosine phases (optax ``cosine_onecycle_schedule``).

    With ``init = peak_value / div_factor`` and ``b = int(pct_start *
    transition_steps)``: cosine from ``init`` up to ``peak_value`` over
    ``[0, b)``, cosine down to ``init / final_div_factor`` over
    ``[b, transition_steps)``, then constant. (Smith & Topin 2017,
    "Super-Convergence".) Values are built as optax's cumulative product, so
    the peak is ``init * div_factor``.
    """

    _name = "one_cycle"
    _fields = ("transition_steps", "peak_value", "pct_start", "div_factor", "final_div_factor")

    def __init__(
        self,
        transition_steps: int,
        peak_value: float,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
    ) -> None:
        self.transition_steps = _int("transition_steps", transition_steps, 1)
        self.peak_value = _real("peak_value", peak_value)
        self.pct_start = _real("pct_start", pct_start)
        if not 0.0 <= self.pct_start <= 1.0:
            raise ValueError(f"pct_start must be in [0, 1], got {self.pct_start}")
        self.div_factor = _positive("div_factor", div_factor)
        self.final_div_factor = _positive("final_div_factor", final_div_factor)
        init = self.peak_value / self.div_factor
        peak = init * self.div_factor
        self._bounds = (0, int(self.pct_start * self.transition_steps), self.transition_steps)
        self._values = (init, peak, peak * (1.0 / (self.div_factor * self.final_div_factor)))

    def _value(self, count: int) -> float:
        (b0, b1, b2), (v0, v1, v2) = self._bounds, self._values
        if count >= b2:
            return v2
        start, end, lo, hi = (v0, v1, b0, b1) if count < b1 else (v1, v2, b1, b2)
        pct = (count - lo) / max(hi - lo, 1)
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


class CosineRestarts(Schedule):
    """Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017).

    ``eta_min + (init_value - eta_min) * (1 + cos(pi * t_cur / t_i)) / 2``
    where the i-th period lasts ``t_i = first_period * t_mult ** i`` steps and
    ``t_cur`` counts steps since the last restart. Bit-identical to stepping
    ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`` once per count.
    """

    _name = "cosine_restarts"
    _fields = ("init_value", "first_period", "t_mult", "eta_min")

    def __init__(
        self, init_value: float, first_period: int, t_mult: int = 1, eta_min: float = 0.0
    ) -> None:
        self.init_value = _real("init_value", init_value)
        self.first_period = _int("first_period", first_period, 1)
        self.t_mult = _int("t_mult", t_mult, 1)
        self.eta_min = _real("eta_min", eta_min)

    def _value(self, count: int) -> float:
        t_cur, t_i = count, self.first_period
        if self.t_mult == 1:
            t_cur %= t_i
        else:
            # Integer arithmetic (O(log count) iterations) rather than torch's
            # float log, so long runs land on exactly the same period as torch's
            # step-by-step bookkeeping.
            while t_cur >= t_i:
                t_cur -= t_i
                t_i *= self.t_mult
        return (
            self.eta_min
            + (self.init_value - self.eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2
        )


# Public lower-case constructors (optax style); the classes double as the types.
constant = Constant
step_decay = StepDecay
multi_step = MultiStep
exponential_decay = ExponentialDecay
cosine_decay = CosineDecay
polynomial = Polynomial
linear = Linear
join = Join
warmup = Warmup
warmup_cosine = WarmupCosine
one_cycle = OneCycle
cosine_restarts = CosineRestarts
