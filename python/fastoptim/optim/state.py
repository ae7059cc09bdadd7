"""Optimizer state: the per-param view ``opt.state`` and torch-layout state dicts, validated
completely before anything changes."""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from ..lowp.quantized import Quantized
from .checks import EXTRA_GROUP_KEYS, param_label
from .precision import MASTER

__all__ = ["StateDicts", "STATE_DICT_FORMAT"]

STATE_DICT_FORMAT = 1


class StateDicts:
    """``state``, ``state_dict()`` and ``load_state_dict()`` of
    :class:`~fastoptim.optim.base.Optimizer`."""

    @property
    def state(self) -> Mapping[np.ndarray, Mapping[str, Any]]:
        """Per-param state, keyed by the param array (read-only view).

        ``opt.state[p]`` has ``"step"`` (the param's own count, an int) and the state buffers
        under torch's names (e.g. ``"exp_avg"``), plus ``"master_param"`` with master weights;
        the arrays are the live buffers the next step updates. int8 state is a
        :class:`fastoptim.lowp.Quantized` (``np.asarray(q)`` reads it as float32). Replace
        state with :meth:`load_state_dict`.
        """
        return _StateView(self)

    def _step_of(self, i: int) -> int:
        plan = self._plan
        if plan is not None:
            return plan.row_keys[plan.rows[i]][1]
        return self._steps[i]

    def _param_state(self, i: int) -> dict[str, Any]:
        step = self._step_of(i)
        if not self._buffers[i] and step == 0:
            return {}
        return {"step": step, **self._buffers[i]}

    def state_dict(self) -> dict[str, Any]:
        """A snapshot of the optimizer: torch's layout, with copies of the state buffers.

        ``{"optimizer": name, "format": 1, "state": {index: {"step": int, buffer: array}},
        "param_groups": [{options..., "params": [indices]}]}``. Indices count params across
        groups in order, as torch does. int8 state stays codes + scales (a copied
        :class:`fastoptim.lowp.Quantized`), bfloat16 state stays bfloat16: a state dict
        holds exactly the optimizer's bits.
        """
        state = {}
        for i in range(len(self._params)):
            st = self._param_state(i)
            if st:
                # copies in the buffers' own memory order (a Fortran-order param's state
                # stays Fortran-order, as int8 codes must, their scales being per block of
                # memory)
                state[i] = {k: (v.copy(order="K") if isinstance(v, np.ndarray)
                                else v.copy() if isinstance(v, Quantized) else v)
                            for k, v in st.items()}
        groups = []
        start = 0
        for group in self.param_groups:
            g = {k: v for k, v in group.items() if k != "params"}
            n = len(group["params"])
            g["params"] = list(range(start, start + n))
            start += n
            groups.append(g)
        return {
            "optimizer": type(self).__name__,
            "format": STATE_DICT_FORMAT,
            "state": state,
            "param_groups": groups,
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` (copying its arrays). Everything is validated first:
        on an error nothing changes. Each buffer must be held as this optimizer holds it (the
        same dtype, or int8 codes of the same kind with one scale per block, for the same
        ``state_dtype`` and ``master_weights``): nothing is converted."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a dict, got {type(state_dict).__name__}")
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise ValueError(f"state_dict has no '{key}' entry")
        kind = state_dict.get("optimizer", type(self).__name__)
        if kind != type(self).__name__:
            raise ValueError(
                f"state_dict is from a {kind} optimizer, not {type(self).__name__}"
            )
        fmt = state_dict.get("format", STATE_DICT_FORMAT)
        if fmt != STATE_DICT_FORMAT:
            raise ValueError(f"state_dict format {fmt!r} is not supported (expected 1)")
        groups = state_dict["param_groups"]
        if not isinstance(groups, (list, tuple)) or len(groups) != len(self.param_groups):
            raise ValueError(
                f"state_dict has {len(groups) if isinstance(groups, (list, tuple)) else '?'} "
                f"param groups, this optimizer {len(self.param_groups)}"
            )
        new_groups = []
        start = 0
        for gi, (saved, current) in enumerate(zip(groups, self.param_groups)):
            if not isinstance(saved, Mapping):
                raise TypeError(f"state_dict param_groups[{gi}] is not a dict")
            n = len(current["params"])
            if list(saved.get("params", [])) != list(range(start, start + n)):
                raise ValueError(
                    f"state_dict param_groups[{gi}] has params {saved.get('params')}, "
                    f"expected {list(range(start, start + n))}"
                )
            start += n
            unknown = sorted(set(saved) - set(self.defaults) - EXTRA_GROUP_KEYS)
            if unknown:
                raise ValueError(f"state_dict param_groups[{gi}] has unknown option(s) {unknown}")
            group = {k: v for k, v in saved.items() if k != "params"}
            for key, value in self.defaults.items():
                group.setdefault(key, value)
            group["params"] = current["params"]
            self._check_group(group, gi)
            new_groups.append(group)
        state = state_dict["state"]
        if not isinstance(state, Mapping):
            raise TypeError("state_dict['state'] must be a dict index -> param state")
        n_params = len(self._params)
        steps = [0] * n_params
        buffers: list[dict[str, Any]] = [{} for _ in range(n_params)]
        precision = self._precision
        for key, st in state.items():
            if isinstance(key, bool) or not isinstance(key, numbers.Integral) or not (
                0 <= key < n_params
            ):
                raise ValueError(f"state_dict state has key {key!r}, expected 0..{n_params - 1}")
            i = int(key)
            if not isinstance(st, Mapping):
                raise TypeError(f"state_dict state[{i}] is not a dict")
            label = param_label(self._names[i], i)
            gi = self._group_of[i]
            step = st.get("step")
            if isinstance(step, np.ndarray) and step.ndim == 0:
                step = step.item()
            if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
                raise ValueError(f"state_dict state[{i}] ({label}): 'step' must be an int >= 0, "
                                 f"got {step!r}")
            steps[i] = int(step)
            p = self._params[i]
            master = precision.wants_master(p)
            for name, arr in st.items():
                if name == "step":
                    continue
                where = f"state_dict state[{i}] ({label}): '{name}'"
                if name == MASTER and master:
                    buffers[i][name] = precision.check_loaded(p, "float32", arr, where)
                    continue
                if name not in self._state_names:
                    expected = list(self._state_names) + ([MASTER] if master else [])
                    hint = (" (this optimizer has no master weights)" if name == MASTER
                            else "")
                    raise ValueError(f"state_dict state[{i}] ({label}): unknown buffer "
                                     f"'{name}'{hint} (expected some of {expected})")
                buffers[i][name] = precision.check_loaded(
                    p, self._state_codes[name], arr, where)
        for i in range(n_params):
            gi = self._group_of[i]
            if steps[i]:
                # Buffers the kernel reads at this step count; ones created from the first
                # gradient (SGD's momentum buffer) may be absent, as in torch.
                missing = [n for n in self._state_layout(new_groups[gi])
                           if n not in buffers[i] and n not in self._init_from_grad]
                if precision.wants_master(self._params[i]) and MASTER not in buffers[i]:
                    missing.append(MASTER)
                if missing:
                    raise ValueError(f"state_dict has no {missing} for param "
                                     f"{param_label(self._names[i], i)} (it is at step "
                                     f"{steps[i]})")
        # Commit.
        for current, new in zip(self.param_groups, new_groups):
            current.clear()
            current.update(new)
        self._steps = steps
        self._fresh = [False] * n_params
        self._buffers = buffers
        self._plan = None
        self._group_cache = []

class _StateView(Mapping):
    __slots__ = ("_opt",)

    def __init__(self, opt: Optimizer) -> None:
        self._opt = opt

    def __getitem__(self, param: np.ndarray) -> Mapping[str, Any]:
        i = self._opt._index_by_id.get(id(param))
        if i is None or self._opt._params[i] is not param:
            raise KeyError("not a param of this optimizer")
        return MappingProxyType(self._opt._param_state(i))

    def __iter__(self) -> Iterator[np.ndarray]:
        return (p for i, p in enumerate(self._opt._params) if self._opt._param_state(i))

    def __len__(self) -> int:
        return sum(1 for _ in self)
