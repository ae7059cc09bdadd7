"""The optimizer base class: params and groups, the step, checkpoints.

Data flows one way: a subclass validates its hyperparameters and turns a param group and a
step count into float64 coefficients (``_coefficients``); this class lays them out for the
kernel, hands the params, grads and state buffers to the backend in one call, and commits
the step only after the backend returned. The backend is the native core
(``fastoptim._native.Plan``) or the NumPy reference (``fastoptim.reference``); both receive
the same coefficients, so both compute the same bits.

The other jobs live beside it: option checks (checks.py), coefficient helpers
(coefficients.py), gradient policies (policies.py), storage and rounding options
(precision.py), ``state`` and state dicts (state.py).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from typing import Any, Callable, ClassVar, Union

import numpy as np

from .. import _native
from ..lowp import rounding as _rounding
from . import groups as _groups
from .groups import _MUTATIONS
from ..lowp.quantized import Quantized
from .checks import (EXTRA_GROUP_KEYS, OPTION_CHECKS, check_lr_value, check_number,
                     param_label)
from .policies import GradPolicies
from .precision import MASTER, Precision
from .state import StateDicts

__all__ = ["Optimizer", "ParamsT", "GradsT", "LR"]

ParamsT = Union[list, tuple, dict, Mapping]
GradsT = Union[list, tuple, dict, Mapping]
LR = Union[float, Callable[[int], float]]


class _Plan:
    """The backend call of one optimizer for a fixed set of state buffers, and the step counts
    of its params while it lives: param i is at ``row_keys[rows[i]] = (group, steps taken,
    fresh)``, so a step advances every count in O(rows), not O(params)."""

    __slots__ = ("buffers", "layout", "native", "row_keys", "rows")

    def __init__(self, native, layout, buffers):
        self.native = native
        self.layout = layout      # per group: tuple of state names
        self.buffers = buffers    # per param: {name: buffer}, new ones not yet committed
        self.rows: np.ndarray = np.zeros(0, np.int64)
        self.row_keys: list[list] = []

    def set_rows(self, groups: list[int], steps: list[int], fresh: list[bool]) -> None:
        keys = sorted(set(zip(groups, steps, fresh)))
        index = {k: r for r, k in enumerate(keys)}
        # lists, [group, steps taken, fresh]: a step advances them in place
        self.row_keys = [list(k) for k in keys]
        self.rows = np.array([index[k] for k in zip(groups, steps, fresh)], dtype=np.int64)

    def counts(self) -> tuple[list[int], list[bool]]:
        keys = self.row_keys
        rows = self.rows.tolist()
        return [keys[r][1] for r in rows], [keys[r][2] for r in rows]


_INF = math.inf


class _Fast:
    """The per-step fast path of a plan (Optimizer.step): valid while the plan lives, no
    group option but lr changed (groups.mutations()), the groups are the same objects, and
    the policies that need the grads first (clip_norm, nonfinite) and stochastic rounding are
    off. (``opt.param_groups`` is a ParamGroups list of ParamGroup dicts: replacing a group
    counts as a mutation too; replacing the list itself is seen by identity.) ``rows``: per coefficient row, its live [group, steps taken, fresh] and the group's
    row maker (lr, step) -> coefficients in kernel order."""

    __slots__ = ("group_list", "mutations", "native_step", "plan", "plan_rows", "rows",
                 "single")

    def __init__(self, plan: _Plan, groups: list, rows: list) -> None:
        self.plan = plan
        self.plan_rows = plan.rows
        self.native_step = plan.native.step
        self.group_list = groups
        self.mutations = _groups.mutations()
        self.rows = rows
        # the common case, one row, unrolled by step(): (its key, its maker, its group)
        self.single = ((rows[0][0], rows[0][1], groups[rows[0][0][0]]) if len(rows) == 1
                       else None)


class Optimizer(GradPolicies, StateDicts):
    """Base of every fastoptim optimizer; mirrors ``torch.optim.Optimizer``.

    Params are NumPy arrays (float32, float64, float16 or ``ml_dtypes.bfloat16``; C- or
    Fortran-contiguous, writeable), given as a list, a dict ``name -> array``, or a list of
    param-group dicts (``{"params": [...], "lr": ...}``) with per-group options.
    ``step(grads)`` takes the grads in the same structure (a list in param order across
    groups, or a dict by name; ``None`` for a param without a grad) and updates every param in
    place in one native call.

    Keyword-only options of every optimizer (besides its hyperparameters):

    - ``nonfinite``, ``clip_norm``: gradient policies (:attr:`nonfinite`, :attr:`clip_norm`).
    - ``master_weights=False``: with float16/bfloat16 params, keep a float32 copy of each in
      ``state[p]["master_param"]``; the kernel updates the master (as the float32 optimizer
      would, from the same grads upcast) and writes the param as its round-to-nearest-even in
      the same pass. An error for float32/float64 params.
    - ``state_dtype=None | "float32" | "bfloat16" | "int8"``: how the state buffers are held.
      None: float32 (float64 for float64 params); ``"bfloat16"``: 2 bytes per element;
      ``"int8"``: blockwise 8-bit codes with one float32 scale per 256 elements (a
      :class:`fastoptim.lowp.Quantized`; ~1 byte per element). Arithmetic stays float32;
      each store rounds once. Buffers an optimizer must keep exact stay float32 (its docs say
      which and why). Not for float64 params.
    - ``rounding="nearest" | "stochastic"``, ``seed=0``: how 16-bit params (without masters)
      and 16-bit state are rounded at each store. Stochastic rounding draws its random bits
      from a counter-based hash of (seed, step, param, buffer, element): the same results on
      every ISA and thread count, and in the NumPy reference (fastoptim.lowp.rounding).

    Step counts are per param, as torch keeps them (``state[p]["step"]``): a param whose grad
    is None is skipped (param, state and count unchanged). Bias corrections use each param's
    own count, and a schedule given as ``lr`` (or ``weight_decay``) is called with the count
    of the param being updated, minus one (params of a group at different counts see the
    values at their own counts).
    """

    #: Name of the kernel in the native core (and of the function in reference/kernels.py).
    _kernel: ClassVar[str]
    #: "native" or "reference".
    _backend: ClassVar[str] = "native"
    #: State buffers created from the first gradient by the kernel (torch's clone), not zeros.
    _init_from_grad: ClassVar[frozenset[str]] = frozenset()
    #: How each state buffer is held with ``state_dtype="int8"``: "signed" (int8) or
    #: "unsigned" (uint8, for buffers that are never negative) codes, or "float32" (never
    #: below float32, in any state_dtype).
    _state_codes: ClassVar[Mapping[str, str]]

    def __init__(self, params: ParamsT, defaults: dict[str, Any], *,
                 nonfinite: str = "propagate", clip_norm: float | None = None,
                 master_weights: bool = False, state_dtype: str | None = None,
                 rounding: str = "nearest", seed: int = 0) -> None:
        self.nonfinite = nonfinite
        self.clip_norm = clip_norm
        self._precision = Precision(master_weights, state_dtype, rounding, seed)
        #: Steps skipped because of non-finite gradients (``nonfinite="skip"``).
        self.skipped_steps = 0
        #: Total 2-norm of the grads at the last step, when clip_norm or a non-finite policy
        #: computed it (else None).
        self.last_grad_norm: float | None = None
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = _groups.ParamGroups()
        self._fast: _Fast | None = None
        self._params: list[np.ndarray] = []
        self._names: list[str | None] = []
        self._index_by_id: dict[int, int] = {}
        self._group_of: list[int] = []
        # Per param, while no plan holds them (_Plan.counts): steps taken, and whether a
        # buffer of _init_from_grad waits for its first gradient.
        self._steps: list[int] = []
        self._fresh: list[bool] = []
        self._buffers: list[dict[str, Any]] = []
        self._plan: _Plan | None = None
        # (ids, offsets) for the native plan: stochastic rounding's param ids and the index of
        # each param's element 0 (fastoptim.distributed steps pieces of params; None: i, 0).
        self._element_ids: tuple = (None, None)
        spec = _native.kernel_specs[self._kernel]
        self._state_names: tuple[str, ...] = tuple(spec[0][2:])
        self._coeff_names: tuple[str, ...] = tuple(spec[1])
        # Every optimizer kernel starts with g = sign * g: clipping scales that coefficient.
        self._sign_index = self._coeff_names.index("sign")
        self._coeff_getter = self._make_coeff_getter()
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

    def _make_coeff_getter(self) -> Callable[[dict], tuple]:
        """Builds a row of coefficients in kernel order from the subclass's dict (a tuple,
        also for a single coefficient)."""
        if len(self._coeff_names) > 1:
            return operator.itemgetter(*self._coeff_names)
        name = self._coeff_names[0]
        return lambda d: (d[name],)

    @property
    def master_weights(self) -> bool:
        """Whether 16-bit params have float32 masters (read-only; a constructor option)."""
        return self._precision.master_weights

    @property
    def state_dtype(self) -> str | None:
        """How state buffers are held (read-only; a constructor option)."""
        return self._precision.state_dtype

    @property
    def rounding(self) -> str:
        """``"nearest"`` or ``"stochastic"``: how 16-bit and int8 stores round (read-only)."""
        return self._precision.rounding

    @property
    def seed(self) -> int:
        """The seed of stochastic rounding (read-only)."""
        return self._precision.seed

    def state_nbytes(self) -> int:
        """Bytes of state held now: every state buffer (codes and scales of int8 state) and
        master weight, not the params. Buffers are created at a param's first step."""
        return sum(int(b.nbytes) for bufs in self._buffers for b in bufs.values())

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
        group = _groups.ParamGroup(param_group)
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
        unknown = sorted(set(group) - set(self.defaults) - EXTRA_GROUP_KEYS)
        if unknown:
            raise TypeError(
                f"param_groups[{gi}]: unknown option(s) {unknown} for {type(self).__name__} "
                f"(options: {sorted(self.defaults)})"
            )
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_group(group, gi)
        start = len(self._params)
        labels = [param_label(n, start + k) for k, n in enumerate(names)]
        all_names = self._names + names
        named = [n for n in all_names if n is not None]
        if len(set(named)) != len(named):
            raise ValueError("param names must be unique")
        for k, p in enumerate(arrays):
            if not isinstance(p, np.ndarray):
                raise TypeError(
                    f"param {labels[k]}: expected a numpy.ndarray, got {type(p).__name__} "
                    "(params are updated in place, so they are never converted: a conversion "
                    "may copy; pass a writable NumPy view of the memory, e.g. tensor.numpy(), "
                    "or use fastoptim.torch for torch tensors)")
            self._precision.check_param(p, labels[k])
        # Validates dtype, contiguity, writeability and that no two params share memory, for
        # the old and new params together; raises before anything here changes.
        _native.Plan(
            self._kernel, self._params + arrays, {},
            [param_label(n, k) for k, n in enumerate(self._names)] + labels,
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
        self._drop_plan()
        self._steps.extend([0] * len(arrays))
        self._fresh.extend([True] * len(arrays))

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

    def _coefficients_at(self, gi: int, group: dict[str, Any], lr: float, step: int,
                         fresh: bool) -> dict[str, float]:
        """``_coefficients`` for a row of param group ``gi`` (``group`` may be a copy of it
        with a scheduled weight decay resolved)."""
        return self._coefficients(group, lr, step, fresh)

    def _fill_value(self, name: str, group: dict[str, Any]) -> float:
        """The value a new state buffer starts at (default 0)."""
        return 0.0

    def _new_buffer(self, name: str, param: np.ndarray, group: dict[str, Any]) -> Any:
        """A new state buffer for ``param`` in the storage the precision options give it."""
        return self._precision.new_state(param, self._state_codes[name],
                                         self._fill_value(name, group),
                                         self._backend == "reference")

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

    def _counts(self) -> tuple[list[int], list[bool]]:
        """Per param: steps taken and whether an init-from-grad buffer waits (copies)."""
        if self._plan is not None:
            return self._plan.counts()
        return list(self._steps), list(self._fresh)

    def _drop_plan(self) -> None:
        """Forget the backend plan (rebuilt at the next step), keeping the step counts."""
        self._steps, self._fresh = self._counts()
        self._plan = None

    def _make_plan(self, layout: list[tuple[str, ...]]) -> _Plan:
        steps, fresh = self._counts()
        precision = self._precision
        buffers = []
        for i, p in enumerate(self._params):
            group = self.param_groups[self._group_of[i]]
            have = self._buffers[i]
            bufs = {}
            if precision.wants_master(p):
                bufs[MASTER] = have[MASTER] if MASTER in have else precision.new_master(p)
            for name in layout[self._group_of[i]]:
                if name in have:
                    bufs[name] = have[name]
                else:
                    bufs[name] = self._new_buffer(name, p, group)
                    fresh[i] = fresh[i] or name in self._init_from_grad
            buffers.append(bufs)

        def native_form(b):
            return (b.codes, b.scales) if isinstance(b, Quantized) else b

        states = {n: [native_form(b.get(n)) for b in buffers]
                  for n in (*self._state_names, MASTER)}
        labels = [param_label(n, i) for i, n in enumerate(self._names)]
        native = _native.Plan(self._kernel, self._params, states, labels, precision.rounding,
                              *self._element_ids)
        if self._backend == "reference":
            from ..reference.backend import ReferencePlan

            native = ReferencePlan(native, self._kernel, self._params, buffers, self._coeff_names,
                                   self._state_names, precision.rounding)
        plan = _Plan(native, layout, buffers)
        plan.set_rows(self._group_of, steps, fresh)
        return plan

    def step(self, grads: GradsT) -> bool:
        """Update every param in place with its gradient.

        ``grads``: the same structure as the params (a list in param order across all groups,
        or a dict by name); each grad has its param's shape and dtype (or float32 for a 16-bit
        param with a master) and the same memory order, or is ``None``: that param is skipped
        (param, state and step count unchanged, as torch skips a param whose ``.grad`` is
        None). Everything is validated before any buffer is written: on an error, params,
        state and step counts are unchanged.

        Returns True, or False when the step was skipped (``nonfinite="skip"``).
        """
        fast = self._fast
        if (fast is not None and type(grads) is list and fast.mutations == _MUTATIONS[0]
                and fast.plan is self._plan and self.param_groups is fast.group_list):
            # No option but lr changed since the last full step (ParamGroup and ParamGroups
            # count every other write): only the coefficient rows are computed.
            single = fast.single
            if single is not None:  # one row: every param in one group, at one step count
                key, make, group = single
                lr = group["lr"]
                if type(lr) is not float or not 0.0 <= lr < _INF:
                    lr = check_lr_value(lr(key[1]), key[0]) if callable(lr) else None
                if lr is not None:
                    if fast.native_step(grads, [make(lr, key[1] + 1)], fast.plan_rows, None):
                        self._commit_partial(fast.plan, grads)  # some grads were None
                    else:
                        key[1] += 1
                    return True
            else:
                groups = fast.group_list
                rows = []
                for key, make in fast.rows:
                    lr = groups[key[0]]["lr"]
                    if type(lr) is not float or not 0.0 <= lr < _INF:
                        if not callable(lr):
                            break  # the full step reports it
                        lr = check_lr_value(lr(key[1]), key[0])
                    rows.append(make(lr, key[1] + 1))
                else:
                    plan = fast.plan
                    if fast.native_step(grads, rows, fast.plan_rows, None):
                        self._commit_partial(plan, grads)
                    else:
                        for key in plan.row_keys:
                            key[1] += 1
                    return True
        return self._full_step(grads)

    def _commit_partial(self, plan: _Plan, grads: list) -> None:
        """After a step with some grads None: advance the counts of the params stepped."""
        steps, fresh = plan.counts()
        for i, g in enumerate(grads):
            if g is not None:
                steps[i] += 1
                fresh[i] = False
        plan.set_rows(self._group_of, steps, fresh)
        self._fast = None

    def _row_maker(self, gi: int, group: dict[str, Any]) -> Callable[[float, int], tuple]:
        """The coefficient row of group ``gi`` as a function of (lr, step), for the fast path
        (never a fresh row). Default: the full ``_coefficients_at``; optimizers whose rows are
        cheaper built once per option set override it (Adam, SGD)."""
        getter, at = self._coeff_getter, self._coefficients_at
        return lambda lr, step: getter(at(gi, group, lr, step, False))

    def _full_step(self, grads: GradsT) -> bool:
        """The step with every option checked; sets up the fast path where it applies."""
        if type(grads) is not list:
            grads = self._grad_list(grads)
        plan, rows, row_keys = self._prepare_step()
        scale = 1.0
        if self._clip_norm is not None or self._nonfinite != "propagate":
            plan.native.check(grads, rows, plan.rows, row_keys)  # every grad valid first
            scale = self._grad_scale(grads)
            if scale is None:
                self.skipped_steps += 1
                return False
        self._run_step(plan, rows, row_keys, grads, scale)
        return True

    def _check_groups(self) -> bool:
        """Validates the options of every group that changed since the last step (and
        derives its state layout); True if any changed or no plan exists yet."""
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
        return changed

    def _prepare_step(self) -> tuple[_Plan, list, list | None]:
        """Everything of a step that can fail, before any buffer is written: the options
        checked, the plan (new buffers not yet committed), and the coefficient rows (schedules
        called) with the stochastic-rounding keys. Returns (plan, rows, row keys)."""
        plan = self._plan
        if self._check_groups():
            layout = [entry[2] for entry in self._group_cache]
            if plan is None or plan.layout != layout:
                plan = self._make_plan(layout)
        rows = []
        for gi, taken, fresh in plan.row_keys:
            group = self.param_groups[gi]
            step = taken + 1
            lr = group["lr"]
            if type(lr) is not float or not 0.0 <= lr < math.inf:
                if callable(lr):  # a schedule: called with the steps already taken, t - 1
                    lr = check_lr_value(lr(taken), gi)
                else:
                    check_number(group, "lr", gi)
                    lr = float(lr)
            if callable(group.get("weight_decay")):  # a weight-decay schedule, as lr
                wd = check_lr_value(group["weight_decay"](taken), gi, "weight_decay")
                group = {**group, "weight_decay": wd}
            rows.append(self._coeff_getter(self._coefficients_at(gi, group, lr, step, fresh)))
        row_keys = None
        if self._precision.rounding == "stochastic":
            seed = self._precision.seed
            row_keys = [_rounding.row_key(seed, taken + 1) for _, taken, _ in plan.row_keys]
        return plan, rows, row_keys

    def _begin_step(self) -> None:
        """Hook: called before a step computes its coefficients (NAdam resets the products
        of the step in progress). NAdam's ``step`` calls it (the base ``step`` does not, to
        keep the fast path free of no-op calls); callers of ``_prepare_step``/``_run_step``
        outside ``step`` (fastoptim.distributed) call it and ``_commit_step``."""

    def _commit_step(self) -> None:
        """Hook: called after a step committed (NAdam keeps its products)."""

    def _run_step(self, plan: _Plan, rows: list, row_keys: list | None, grads: list,
                  scale: float) -> None:
        """Runs a prepared step with the grads scaled by ``scale`` (clipping) and commits it."""
        if scale != 1.0:
            k = self._sign_index
            rows = [row[:k] + (row[k] * scale,) + row[k + 1:] for row in rows]
        skipped = plan.native.step(grads, rows, plan.rows, row_keys)
        # Commit: the backend returned, so every buffer was written.
        if self._buffers is not plan.buffers:
            self._buffers = plan.buffers
        self._plan = plan
        if skipped or any(fresh for _, _, fresh in plan.row_keys):
            self._commit_partial(plan, grads)
            return
        for key in plan.row_keys:  # every param one step further: the rows keep their params
            key[1] += 1
        if (self._clip_norm is None and self._nonfinite == "propagate"
                and self._precision.rounding == "nearest"
                and not any(callable(g.get("weight_decay")) for g in self.param_groups)):
            self._fast = _Fast(plan, self.param_groups, [
                (key, self._row_maker(key[0], self.param_groups[key[0]]))
                for key in plan.row_keys])

    # ----------------------------------------------------------------- checkpoints
    def save(self, path) -> None:
        """Write a checkpoint (``.npz``, no pickle): see :func:`fastoptim.save`."""
        from ..checkpoint import save

        save(self, path)

    def load(self, path) -> None:
        """Restore a checkpoint written by :meth:`save`, validated before anything changes."""
        from ..checkpoint import load

        load(self, path)

    # ------------------------------------------------------------------ copy, pickle
    def __getstate__(self) -> dict[str, Any]:
        """Everything but the native plan and caches (rebuilt at the next step): copies and
        pickles hold their own params and state and continue as the original would."""
        state = self.__dict__.copy()
        state["_steps"], state["_fresh"] = self._counts()
        state["_plan"] = None
        state["_fast"] = None
        state["_group_cache"] = []
        del state["_index_by_id"], state["_coeff_getter"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._index_by_id = {id(p): i for i, p in enumerate(self._params)}
        self._coeff_getter = self._make_coeff_getter()

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for gi, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {gi}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)
