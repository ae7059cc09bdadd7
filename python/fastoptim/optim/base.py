"""The optimizer base class: params and groups, state, the step, state dicts.

Data flows one way: a subclass validates its hyperparameters and turns a param group and a
step count into float64 coefficients (``_coefficients``); this class lays them out for the
kernel, hands the params, grads and state buffers to the backend in one call, and commits
the step only after the backend returned. The backend is the native core
(``fastoptim._native.Plan``) or the NumPy reference (``fastoptim.reference``); both receive
the same coefficients, so both compute the same bits.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, Callable, ClassVar, Union

import numpy as np

from .. import _native

__all__ = ["Optimizer", "ParamsT", "GradsT"]

ParamsT = Union[list, tuple, dict, Mapping]
GradsT = Union[list, tuple, dict, Mapping]
LR = Union[float, Callable[[int], float]]
Check = Callable[[dict, str, int], None]

STATE_DICT_FORMAT = 1
NONFINITE_POLICIES = ("propagate", "skip", "raise")

# Keys a param group may carry besides the optimizer's hyperparameters: torch-style schedulers
# add "initial_lr" (and OneCycleLR/CyclicLR their cycle bounds); "name" is a user label.
_EXTRA_GROUP_KEYS = frozenset({
    "params", "param_names", "name", "initial_lr",
    "max_lr", "min_lr", "max_momentum", "base_momentum",
})


def _label(name: str | None, index: int) -> str:
    return repr(name) if name is not None else f"params[{index}]"


class _Plan:
    """The backend call of one optimizer for a fixed set of state buffers."""

    __slots__ = ("any_fresh", "buffers", "fresh", "layout", "native", "row_keys", "rows")

    def __init__(self, native, layout, buffers, fresh):
        self.native = native
        self.layout = layout      # per group: tuple of state names
        self.buffers = buffers    # per param: {name: array}, new ones not yet committed
        self.fresh = fresh        # per param: True if its buffers were created by this plan
        self.any_fresh = True in fresh  # checked every step: O(1), not O(params)
        self.rows: np.ndarray | None = None
        self.row_keys: list[tuple[int, bool]] = []


class Optimizer:
    """Base of every fastoptim optimizer; mirrors ``torch.optim.Optimizer``.

    Params are NumPy arrays (float32 or float64, C- or Fortran-contiguous, writeable), given as
    a list, a dict ``name -> array``, or a list of param-group dicts (``{"params": [...],
    "lr": ...}``) with per-group options. ``step(grads)`` takes the grads in the same structure
    (a list in param order across groups, or a dict by name) and updates every param in place
    in one native call.
    """

    #: Name of the kernel in the native core (and of the function in reference/kernels.py).
    _kernel: ClassVar[str]
    #: "native" or "reference".
    _backend: ClassVar[str] = "native"
    #: State buffers created from the first gradient by the kernel (torch's clone), not zeros.
    _init_from_grad: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, params: ParamsT, defaults: dict[str, Any], *,
                 nonfinite: str = "propagate", clip_norm: float | None = None) -> None:
        self.nonfinite = nonfinite
        self.clip_norm = clip_norm
        #: Steps skipped because of non-finite gradients (``nonfinite="skip"``).
        self.skipped_steps = 0
        #: Total 2-norm of the grads at the last step, when clip_norm or a non-finite policy
        #: computed it (else None).
        self.last_grad_norm: float | None = None
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self._params: list[np.ndarray] = []
        self._names: list[str | None] = []
        self._index_by_id: dict[int, int] = {}
        self._group_of: list[int] = []
        self._steps: list[int] = []
        self._buffers: list[dict[str, np.ndarray]] = []
        self._plan: _Plan | None = None
        spec = _native.kernel_specs[self._kernel]
        self._state_names: tuple[str, ...] = tuple(spec[0][2:])
        self._coeff_names: tuple[str, ...] = tuple(spec[1])
        # Every optimizer kernel starts with g = sign * g: clipping scales that coefficient.
        self._sign_index = self._coeff_names.index("sign")
        # Builds a row of coefficients in kernel order from the subclass's dict (a tuple, also
        # for a single coefficient).
        self._coeff_getter = (
            operator.itemgetter(*self._coeff_names) if len(self._coeff_names) > 1
            else (lambda d: tuple(d[n] for n in self._coeff_names))
        )
        self._option_keys: tuple[str, ...] = tuple(defaults)
        # What the step watches for changes; lr is checked on its own at every step, since
        # schedulers change it every step.
        self._watched_keys: tuple[str, ...] = tuple(k for k in defaults if k != "lr")
        # per group: (watched option values, their types, state layout)
        self._group_cache: list[tuple[tuple, tuple, tuple[str, ...]]] = []
        groups = self._parse_params(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        for group in groups:
            self.add_param_group(group)

    # ----------------------------------------------------------------- construction
    @staticmethod
    def _parse_params(params: ParamsT) -> list[dict[str, Any]]:
        if isinstance(params, np.ndarray):
            raise TypeError(
                "params must be a list of arrays, a dict name -> array or a list of param "
                "groups, got a single numpy.ndarray (wrap it in a list)"
            )
        if isinstance(params, Mapping):
            return [{"params": params}]
        if not isinstance(params, (list, tuple)):
            raise TypeError(
                "params must be a list of arrays, a dict name -> array or a list of param "
                f"groups, got {type(params).__name__}"
            )
        params = list(params)
        if params and all(isinstance(p, Mapping) for p in params):
            return [dict(g) for g in params]
        if any(isinstance(p, Mapping) for p in params):
            raise TypeError("params mixes arrays and param-group dicts; use one or the other")
        return [{"params": params}] if params else []

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of params with its own options (others from the constructor's)."""
        if not isinstance(param_group, Mapping):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        if "params" not in group:
            raise ValueError("param_group has no 'params' key")
        raw = group["params"]
        if isinstance(raw, np.ndarray):
            raw = [raw]
        if isinstance(raw, Mapping):
            names: list[str | None] = [str(k) for k in raw]
            arrays = list(raw.values())
        elif isinstance(raw, (list, tuple)):
            arrays = list(raw)
            names = list(group.get("param_names") or [None] * len(arrays))
            if len(names) != len(arrays):
                raise ValueError("param_names and params differ in length")
        else:
            raise TypeError(
                f"param_group['params'] must be a list or dict of arrays, got {type(raw).__name__}"
            )
        if not arrays:
            raise ValueError("param_group['params'] is empty")
        gi = len(self.param_groups)
        unknown = sorted(set(group) - set(self.defaults) - _EXTRA_GROUP_KEYS)
        if unknown:
            raise TypeError(
                f"param_groups[{gi}]: unknown option(s) {unknown} for {type(self).__name__} "
                f"(options: {sorted(self.defaults)})"
            )
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_group(group, gi)
        start = len(self._params)
        labels = [_label(n, start + k) for k, n in enumerate(names)]
        all_names = self._names + names
        named = [n for n in all_names if n is not None]
        if len(set(named)) != len(named):
            raise ValueError("param names must be unique")
        # Validates dtype, contiguity, writeability and that no two params share memory, for
        # the old and new params together; raises before anything here changes.
        _native.Plan(
            self._kernel, self._params + arrays, {},
            [_label(n, k) for k, n in enumerate(self._names)] + labels,
        )
        group["params"] = arrays
        if any(n is not None for n in names):
            group["param_names"] = names
        self.param_groups.append(group)
        for k, p in enumerate(arrays):
            self._index_by_id[id(p)] = start + k
            self._params.append(p)
            self._names.append(names[k])
            self._group_of.append(gi)
            self._buffers.append({})
        self._steps.append(0)
        self._plan = None

    # ------------------------------------------------------- gradient policies
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

    def _grad_scale(self, grads: list) -> float | None:
        """The clip coefficient (1.0 without clipping), or None to skip the step. The grads
        were validated."""
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
                i, count = bad[0]
                raise FloatingPointError(
                    f"grad of param {_label(self._names[i], i)} has {count} non-finite "
                    f"value(s) (NaN or inf); nothing was changed (nonfinite='raise')")
        self.last_grad_norm = math.sqrt(total_sq)
        if self._clip_norm is None:
            return 1.0
        coef = self._clip_norm / (self.last_grad_norm + 1e-6)
        return coef if not coef >= 1.0 else 1.0  # torch clamps to 1; NaN stays NaN

    # --------------------------------------------------------------- subclass hooks
    def _check_group(self, group: dict[str, Any], index: int) -> None:
        """Raise TypeError/ValueError naming ``param_groups[index]`` for a bad option.
        Default: each option by the check of its name in ``OPTION_CHECKS`` (an option name
        means the same range in every optimizer, as in torch)."""
        for key in self._option_keys:
            check = OPTION_CHECKS.get(key)
            if check is None:
                raise NotImplementedError(f"{type(self).__name__}: no check for option {key!r} "
                                          "(add it to OPTION_CHECKS or override _check_group)")
            check(group, key, index)

    def _state_layout(self, group: dict[str, Any]) -> tuple[str, ...]:
        """Names of the state buffers the group's options need. Default: every state buffer
        of the kernel."""
        return self._state_names

    def _coefficients(
        self, group: dict[str, Any], lr: float, step: int, fresh: bool
    ) -> dict[str, float]:
        """The kernel's coefficients, in float64, for the ``step``-th step (1-based), with the
        group's learning rate ``lr`` already resolved (schedules called) and validated.
        ``fresh``: the param's buffers were just created (kernels that initialize a buffer
        from the first gradient, as torch's SGD, do so when it is set)."""
        raise NotImplementedError

    def _new_buffer(self, name: str, param: np.ndarray, group: dict[str, Any]) -> np.ndarray:
        return np.zeros_like(param)

    # ------------------------------------------------------------------------ step
    def _grad_list(self, grads: GradsT) -> list:
        if isinstance(grads, Mapping):
            if any(n is None for n in self._names):
                raise TypeError("grads given as a dict, but the params were not given names")
            missing = [n for n in self._names if n not in grads]
            if missing:
                raise ValueError(f"grads has no entry for param(s) {missing}")
            if len(grads) != len(self._names):
                extra = sorted(set(grads) - set(self._names), key=str)
                raise ValueError(f"grads has entries for unknown param(s) {extra}")
            return [grads[n] for n in self._names]
        if isinstance(grads, np.ndarray):
            raise TypeError("grads must be a list (or dict) of arrays, got a single numpy.ndarray")
        if isinstance(grads, tuple):
            return list(grads)
        if not isinstance(grads, list):
            raise TypeError(f"grads must be a list or dict of arrays, got {type(grads).__name__}")
        return grads

    def _make_plan(self, layout: list[tuple[str, ...]]) -> _Plan:
        buffers, fresh = [], []
        for i, p in enumerate(self._params):
            group = self.param_groups[self._group_of[i]]
            have = self._buffers[i]
            bufs = {}
            new = False
            for name in layout[self._group_of[i]]:
                if name in have:
                    bufs[name] = have[name]
                else:
                    bufs[name] = self._new_buffer(name, p, group)
                    new = new or name in self._init_from_grad
            buffers.append(bufs)
            fresh.append(new)
        states = {n: [b.get(n) for b in buffers] for n in self._state_names}
        labels = [_label(n, i) for i, n in enumerate(self._names)]
        native = _native.Plan(self._kernel, self._params, states, labels)
        if self._backend == "reference":
            from ..reference.backend import ReferencePlan

            native = ReferencePlan(native, self._kernel, self._params, buffers, self._coeff_names,
                                   self._state_names)
        return _Plan(native, layout, buffers, fresh)

    def _rows(self, plan: _Plan) -> None:
        keys = sorted({(self._group_of[i], f) for i, f in enumerate(plan.fresh)})
        index = {k: r for r, k in enumerate(keys)}
        plan.row_keys = keys
        plan.rows = np.array(
            [index[(self._group_of[i], f)] for i, f in enumerate(plan.fresh)], dtype=np.int64
        )

    def step(self, grads: GradsT) -> bool:
        """Update every param in place with its gradient.

        ``grads``: the same structure as the params (a list in param order across all groups,
        or a dict by name); each grad has its param's shape and dtype and the same memory
        order. Everything is validated before any buffer is written: on an error, params,
        state and step counts are unchanged.

        Returns True, or False when the step was skipped (``nonfinite="skip"``).
        """
        if type(grads) is not list:
            grads = self._grad_list(grads)
        # Options are validated (and the state layout derived) only when a group's options
        # changed since the last step: the per-step Python cost stays a few microseconds.
        cache = self._group_cache
        keys = self._watched_keys
        changed = self._plan is None
        for gi, group in enumerate(self.param_groups):
            values = tuple(map(group.get, keys))
            entry = cache[gi] if gi < len(cache) else None
            if entry is not None and all(map(operator.is_, values, entry[0])):
                continue  # the very same objects: unchanged (the common case, cheapest test)
            types = tuple(map(type, values))
            # types too: False == 0 and 1.0 == True, but a bool is no weight decay
            if entry is not None and values == entry[0] and types == entry[1]:
                cache[gi] = (values, types, entry[2])  # equal values, new objects
                continue
            self._check_group(group, gi)  # may normalize values (betas lists become tuples)
            values = tuple(map(group.get, keys))
            entry = (values, tuple(map(type, values)), self._state_layout(group))
            if gi < len(cache):
                cache[gi] = entry
            else:
                cache.append(entry)
            changed = True
        plan = self._plan
        if changed:
            layout = [entry[2] for entry in cache]
            if plan is None or plan.layout != layout:
                plan = self._make_plan(layout)
                self._rows(plan)
        rows = []
        steps = self._steps
        for gi, fresh in plan.row_keys:
            group = self.param_groups[gi]
            step = steps[gi] + 1
            lr = group["lr"]
            if type(lr) is not float or not 0.0 <= lr < math.inf:
                if callable(lr):  # a schedule: called with the steps already taken, t - 1
                    lr = check_lr_value(lr(step - 1), gi)
                else:
                    check_number(group, "lr", gi)
                    lr = float(lr)
            if callable(group.get("weight_decay")):  # a weight-decay schedule, as lr
                wd = check_lr_value(group["weight_decay"](step - 1), gi, "weight_decay")
                group = {**group, "weight_decay": wd}
            rows.append(self._coeff_getter(self._coefficients(group, lr, step, fresh)))
        if self._clip_norm is not None or self._nonfinite != "propagate":
            plan.native.check(grads, rows, plan.rows)  # every grad valid before reading it
            scale = self._grad_scale(grads)
            if scale is None:
                self.skipped_steps += 1
                return False
            if scale != 1.0:
                k = self._sign_index
                rows = [row[:k] + (row[k] * scale,) + row[k + 1:] for row in rows]
        plan.native.step(grads, rows, plan.rows)
        # Commit: the backend returned, so every buffer was written.
        self._plan = plan
        for gi in range(len(steps)):
            steps[gi] += 1
        if self._buffers is not plan.buffers:
            self._buffers = plan.buffers
        if plan.any_fresh:
            plan.fresh = [False] * len(plan.fresh)
            plan.any_fresh = False
            self._rows(plan)
        return True

    # ----------------------------------------------------------------------- state
    @property
    def state(self) -> Mapping[np.ndarray, Mapping[str, Any]]:
        """Per-param state, keyed by the param array (read-only view).

        ``opt.state[p]`` has ``"step"`` (an int) and the state buffers under torch's names
        (e.g. ``"exp_avg"``); the arrays are the live buffers the next step updates. Replace
        state with :meth:`load_state_dict`.
        """
        return _StateView(self)

    def _param_state(self, i: int) -> dict[str, Any]:
        if not self._buffers[i] and self._steps[self._group_of[i]] == 0:
            return {}
        return {"step": self._steps[self._group_of[i]], **self._buffers[i]}

    def state_dict(self) -> dict[str, Any]:
        """A snapshot of the optimizer: torch's layout, with copies of the state buffers.

        ``{"optimizer": name, "format": 1, "state": {index: {"step": int, buffer: array}},
        "param_groups": [{options..., "params": [indices]}]}``. Indices count params across
        groups in order, as torch does.
        """
        state = {}
        for i in range(len(self._params)):
            st = self._param_state(i)
            if st:
                state[i] = {k: (v.copy() if isinstance(v, np.ndarray) else v)
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
        on an error nothing changes."""
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
            unknown = sorted(set(saved) - set(self.defaults) - _EXTRA_GROUP_KEYS)
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
        steps = [None] * len(self.param_groups)
        buffers: list[dict[str, np.ndarray]] = [{} for _ in range(n_params)]
        for key, st in state.items():
            if isinstance(key, bool) or not isinstance(key, numbers.Integral) or not (
                0 <= key < n_params
            ):
                raise ValueError(f"state_dict state has key {key!r}, expected 0..{n_params - 1}")
            i = int(key)
            if not isinstance(st, Mapping):
                raise TypeError(f"state_dict state[{i}] is not a dict")
            label = _label(self._names[i], i)
            gi = self._group_of[i]
            step = st.get("step")
            if isinstance(step, np.ndarray) and step.ndim == 0:
                step = step.item()
            if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
                raise ValueError(f"state_dict state[{i}] ({label}): 'step' must be an int >= 0, "
                                 f"got {step!r}")
            if steps[gi] is None:
                steps[gi] = int(step)
            elif steps[gi] != int(step):
                raise ValueError(
                    f"state_dict state[{i}] ({label}): step {step} differs from step "
                    f"{steps[gi]} of another param in param_groups[{gi}] (fastoptim steps a "
                    "group's params together)"
                )
            p = self._params[i]
            for name, arr in st.items():
                if name == "step":
                    continue
                if name not in self._state_names:
                    raise ValueError(f"state_dict state[{i}] ({label}): unknown buffer '{name}' "
                                     f"(expected some of {list(self._state_names)})")
                if not isinstance(arr, np.ndarray):
                    raise TypeError(f"state_dict state[{i}] ({label}): '{name}' is not an array")
                if arr.shape != p.shape:
                    raise ValueError(f"state_dict state[{i}] ({label}): '{name}' has shape "
                                     f"{arr.shape}, the param {p.shape}")
                if arr.dtype != p.dtype:
                    raise TypeError(f"state_dict state[{i}] ({label}): '{name}' has dtype "
                                    f"{arr.dtype}, the param {p.dtype}")
                buf = np.empty_like(p)
                buf[...] = arr
                buffers[i][name] = buf
        for i in range(n_params):
            gi = self._group_of[i]
            if steps[gi]:
                # Buffers the kernel reads at this step count; ones created from the first
                # gradient (SGD's momentum buffer) may be absent, as in torch.
                missing = [n for n in self._state_layout(new_groups[gi])
                           if n not in buffers[i] and n not in self._init_from_grad]
                if missing:
                    raise ValueError(f"state_dict has no {missing} for param "
                                     f"{_label(self._names[i], i)} (its group is at step "
                                     f"{steps[gi]})")
        # Commit.
        for current, new in zip(self.param_groups, new_groups):
            current.clear()
            current.update(new)
        self._steps = [s or 0 for s in steps]
        self._buffers = buffers
        self._plan = None
        self._group_cache = []

    def save(self, path) -> None:
        """Write a checkpoint (``.npz``, no pickle): see :func:`fastoptim.save`."""
        from ..checkpoint import save

        save(self, path)

    def load(self, path) -> None:
        """Restore a checkpoint written by :meth:`save`, validated before anything changes."""
        from ..checkpoint import load

        load(self, path)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for gi, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {gi}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


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


# ---------------------------------------------------- shared coefficient helpers
def grad_coefficients(
    group: dict[str, Any], lr: float, decoupled: bool | None = None
) -> dict[str, float]:
    """The coefficients every kernel applies to the gradient first: ``sign`` (-1 when
    maximizing) and the weight decay, either decoupled (``decay = 1 - lr * weight_decay``,
    ``p *= decay``, AdamW-style) or L2 (``weight_decay``, ``g += weight_decay * p``), the unused
    one neutral (1 or 0). ``decoupled`` defaults to the group's ``decoupled_weight_decay``
    option (False where it has none). Kernels ignore the entries they do not name."""
    sign = -1.0 if group["maximize"] else 1.0
    wd = float(group["weight_decay"])
    if decoupled is None:
        decoupled = bool(group.get("decoupled_weight_decay", False))
    if decoupled:
        return {"sign": sign, "decay": 1.0 - lr * wd, "weight_decay": 0.0}
    return {"sign": sign, "decay": 1.0, "weight_decay": wd}


def eps_coefficients(eps: float, in_sqrt: bool) -> dict[str, float]:
    """Epsilon inside the square root (``sqrt(x + eps_root) + 0``: Keras, optax) or outside
    (``sqrt(x + 0) + eps``: torch), for the kernels that name both (x + 0 is exact for the
    sums of squares there, which are never -0)."""
    eps = float(eps)
    return {"eps_root": eps, "eps": 0.0} if in_sqrt else {"eps_root": 0.0, "eps": eps}


def lerp_coefficients(weight: float) -> dict[str, float]:
    """The coefficients of torch's ``lerp(start, end, weight)`` in a kernel (``fo_lerp`` in
    cpp/kernels/common.hpp): torch switches formula at weight 0.5 (aten/native/Lerp.h)."""
    return {"lerp_w": weight, "one_minus_lerp_w": 1.0 - weight,
            "lerp_flip": float(weight >= 0.5)}
