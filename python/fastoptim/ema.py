"""EMA: an exponential moving average of params, updated natively in one call."""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from . import _native
from .lowp.dtypes import is_16bit
from .optim.base import ParamsT
from .optim.checks import param_label as _label
from .optim.coefficients import lerp_coefficients

__all__ = ["EMA"]


class EMA:
    r"""Exponential moving average of params — ``avg = avg + (1 - decay) * (param - avg)``.

    torch's ``torch.optim.swa_utils.get_ema_multi_avg_fn`` (``torch._foreach_lerp_`` with
    weight ``1 - decay``, including its formula switch at weight 0.5) and optax's
    ``ema(decay, debias=False)``. The averages start as copies of the params (torch's
    AveragedModel copies them on its first update). ``update()`` advances every average in
    one native multi-tensor call (same ISA dispatch, threads and bit-exact NumPy reference as
    the optimizers: ``fastoptim.reference.EMA``).

    Typical use::

        ema = fo.EMA([W, b], decay=0.999)
        for batch in data:
            opt.step(grads(batch))
            ema.update()
        with ema.average_parameters():   # W and b hold the averages inside the block
            evaluate()

    Args:
        params: the arrays to average (a list or a dict name -> array), float32/float64 or
            float16/bfloat16 (then the averages are float32), contiguous; they are read,
            never written (except by ``copy_to``/``swap``/``average_parameters``).
        decay: in [0, 1]; 0 copies the params, 1 freezes the averages.
    """

    _backend: ClassVar[str] = "native"

    def __init__(self, params: ParamsT, decay: float = 0.999) -> None:
        if isinstance(params, Mapping):
            names: list[str | None] = [str(k) for k in params]
            arrays = list(params.values())
        elif isinstance(params, (list, tuple)):
            arrays, names = list(params), [None] * len(params)
        else:
            raise TypeError(f"params must be a list or dict of arrays, got "
                            f"{type(params).__name__}")
        if not arrays:
            raise ValueError("EMA got an empty parameter list")
        self.decay = decay
        labels = [_label(n, i) for i, n in enumerate(names)]
        for label, p in zip(labels, arrays):
            if not isinstance(p, np.ndarray):
                raise TypeError(f"param {label}: expected a numpy.ndarray, got "
                                f"{type(p).__name__}")
        self._params = arrays
        self._names = names
        # float32 averages for 16-bit params (a 16-bit average would round away updates
        # smaller than half its last place: with decay 0.999, almost all of them)
        self._averages = [p.astype(np.float32, order="K") if is_16bit(p) else p.copy(order="K")
                          for p in arrays]
        self._rows = np.zeros(len(arrays), dtype=np.int64)
        self._plan = self._make_plan()
        self.num_updates = 0

    def _make_plan(self) -> Any:
        """The backend plan over the averages. It validates the averages' dtype; check() the
        params in the read slot (contiguity, memory order). The params themselves are never
        written by update()."""
        labels = [_label(n, i) for i, n in enumerate(self._names)]
        native = _native.Plan("ema", self._averages, {}, labels)
        native.check(self._params, [self._row()], self._rows)
        if self._backend == "reference":
            from .reference.backend import ReferencePlan

            native = ReferencePlan(native, "ema", self._averages, [{} for _ in self._params],
                                   tuple(_native.kernel_specs["ema"][1]), ())
        return native

    # copy.deepcopy and pickle: the plan holds raw pointers, so it is not copied; the copy
    # builds its own over its own averages (and its own params, copied alongside).
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_plan"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @property
    def decay(self) -> float:
        """The decay of later :meth:`update` calls, in [0, 1]; settable between updates
        (``TypeError``/``ValueError`` naming ``decay`` otherwise, nothing changed)."""
        return self._decay

    @decay.setter
    def decay(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"decay must be a real number, got {type(value).__name__}")
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"decay must be in [0, 1], got {value}")
        self._decay = float(value)

    @property
    def averages(self) -> list[np.ndarray]:
        """The averages, in param order (live arrays)."""
        return list(self._averages)

    def _row(self) -> tuple[float, ...]:
        c = lerp_coefficients(1.0 - self._decay)
        return tuple(c[n] for n in _native.kernel_specs["ema"][1])

    def update(self) -> None:
        """avg = lerp(avg, param, 1 - decay) for every param, in one native call."""
        if self._plan is None:
            self._plan = self._make_plan()
        self._plan.step(self._params, [self._row()], self._rows)
        self.num_updates += 1

    def copy_to(self, params: ParamsT | None = None) -> None:
        """Copy the averages into ``params`` (default: the averaged params themselves)."""
        targets = self._params if params is None else (
            list(params.values()) if isinstance(params, Mapping) else list(params))
        if len(targets) != len(self._averages):
            raise ValueError(f"expected {len(self._averages)} arrays, got {len(targets)}")
        for i, (t, a) in enumerate(zip(targets, self._averages)):
            dt = self._params[i].dtype
            if not isinstance(t, np.ndarray) or t.shape != a.shape or t.dtype != dt:
                raise ValueError(f"{_label(self._names[i], i)}: target must be an array of "
                                 f"shape {a.shape} and dtype {dt}")
            if not t.flags.writeable:
                raise ValueError(f"{_label(self._names[i], i)}: target is read-only")
        for t, a in zip(targets, self._averages):
            # a float32 average into a 16-bit param: rounded to nearest even
            np.copyto(t, a, casting="unsafe")

    def swap(self) -> None:
        """Exchange the contents of the params and the averages (in place). Not for 16-bit
        params (their float32 averages would be rounded): use :meth:`average_parameters`."""
        for i, (p, a) in enumerate(zip(self._params, self._averages)):
            if p.dtype != a.dtype:
                raise TypeError(f"{_label(self._names[i], i)}: swap() exchanges arrays of one "
                                f"dtype; this param is {p.dtype}, its average float32 (use "
                                "average_parameters() or copy_to())")
        for p, a in zip(self._params, self._averages):
            tmp = p.copy(order="K")
            np.copyto(p, a)
            np.copyto(a, tmp)

    @contextlib.contextmanager
    def average_parameters(self) -> Iterator[None]:
        """Inside the block the params hold the averages (rounded to nearest even for 16-bit
        params); the params are restored exactly on exit."""
        saved = [p.copy(order="K") for p in self._params]
        self.copy_to()
        try:
            yield
        finally:
            for p, s in zip(self._params, saved):
                np.copyto(p, s)

    def state_dict(self) -> dict[str, Any]:
        """``{"decay", "num_updates", "averages"}``: the averages are copies, in param order;
        :meth:`load_state_dict` restores it into an EMA of params of the same shapes."""
        return {"decay": self._decay, "num_updates": self.num_updates,
                "averages": [a.copy() for a in self._averages]}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`; validated first, nothing changes on an error."""
        try:
            decay, count, averages = (state_dict["decay"], state_dict["num_updates"],
                                      list(state_dict["averages"]))
        except (KeyError, TypeError) as e:
            raise ValueError(f"not an EMA state dict ({e!r})") from None
        if len(averages) != len(self._averages):
            raise ValueError(f"state dict has {len(averages)} averages, this EMA "
                             f"{len(self._averages)}")
        for i, (a, mine) in enumerate(zip(averages, self._averages)):
            if not isinstance(a, np.ndarray) or a.shape != mine.shape or a.dtype != mine.dtype:
                raise ValueError(f"average of {_label(self._names[i], i)}: expected shape "
                                 f"{mine.shape} and dtype {mine.dtype}")
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 0:
            raise ValueError(f"num_updates must be an int >= 0, got {count!r}")
        if isinstance(decay, bool) or not isinstance(decay, numbers.Real) or not (
            0.0 <= float(decay) <= 1.0
        ):
            raise ValueError(f"decay must be a number in [0, 1], got {decay!r}")
        self._decay = float(decay)
        for mine, a in zip(self._averages, averages):
            np.copyto(mine, a)
        self.num_updates = int(count)
