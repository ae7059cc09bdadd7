"""Drop-in ``torch.optim`` optimizers backed by fastoptim's native step.

.. code-block:: python

    import torch, fastoptim.torch as fot
    opt = fot.Adam(model.parameters(), lr=1e-3, weight_decay=0.01)   # a torch.optim.Optimizer
    loss.backward(); opt.step(); opt.zero_grad()
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=1000)

Every class subclasses :class:`torch.optim.Optimizer` with torch's name, arguments and defaults
(plus fastoptim's keyword-only options: ``master_weights``, ``state_dtype``, ``rounding``,
``seed``, ``nonfinite``, ``clip_norm`` and each optimizer's convention options) and steps all
params in one native call, reading ``p.grad`` and writing ``p`` in place through zero-copy NumPy
views. torch's machinery works on it unchanged: ``param_groups`` (options changed there, e.g.
by torch's own schedulers, apply at the next step), ``add_param_group``, ``zero_grad``, step
hooks, ``step(closure)``. A param whose ``grad`` is None is skipped, with its own step count.

``state_dict()`` / ``load_state_dict()`` use torch's format (``"step"`` a float32 tensor, the
buffers under torch's names as tensors), so a state dict moves between ``torch.optim.Adam`` and
``fot.Adam`` in both directions. ``opt.state[p]`` gives the live buffers as tensors sharing
fastoptim's memory.

Tensors: CPU, dense, contiguous, float32/float64 (float16/bfloat16 with the low-precision
options); grads of the param's dtype (or float32 for 16-bit params with ``master_weights``).
Anything else is refused with an error naming the param, before anything changes. The update
writes through the NumPy views (autograd records nothing, as under torch's own step's
``torch.no_grad()``) and bumps each updated param's version counter, so autograd sees the
in-place change. ``foreach=`` and ``fused=`` are accepted
and ignored (the native step is always one fused multi-tensor call); ``capturable=True`` and
``differentiable=True`` are not supported.

Importing this module needs PyTorch; ``import fastoptim`` never imports it.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

try:
    import torch
    from torch.autograd.graph import increment_version as _increment_version
    from torch.optim import optimizer as _torch_optimizer
except ImportError as e:  # pragma: no cover - exercised by a subprocess test
    raise ImportError("fastoptim.torch needs PyTorch: pip install torch "
                      "(fastoptim itself works without it)") from e

import fastoptim as _fo

__all__ = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam",
           "Adadelta", "Lion"]

# options of the optimizer as a whole, not of a param group (fastoptim's keyword-only ones)
_WHOLE = ("master_weights", "state_dtype", "rounding", "seed", "nonfinite", "clip_norm")
# torch's implementation switches: accepted, ignored (one native fused call either way)
_SWITCHES = {"foreach": None, "fused": None, "capturable": False, "differentiable": False}

_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16}

# torch's global step hooks (torch.optim.optimizer.register_optimizer_step_pre_hook / _post_)
_GLOBAL_PRE = getattr(_torch_optimizer, "_global_optimizer_pre_hooks", {})
_GLOBAL_POST = getattr(_torch_optimizer, "_global_optimizer_post_hooks", {})


def _versions_bumper():
    """Bumps the version counters of a list of tensors: in one call where torch takes a list
    (2.6 and later), else one call per tensor."""
    batch = getattr(torch._C, "_increment_version", None)
    try:
        batch([])
        return batch
    except Exception:  # torch < 2.6 takes one tensor
        return lambda tensors: [_increment_version(t) for t in tensors]


_bump_versions = _versions_bumper()


def _view(t: torch.Tensor, what: str) -> np.ndarray:
    """A zero-copy NumPy view of a CPU tensor (bfloat16 through its bits, as ml_dtypes')."""
    if t.layout != torch.strided:
        raise TypeError(f"{what}: {t.layout} tensors are not supported (dense tensors only)")
    if t.device.type != "cpu":
        raise ValueError(f"{what} is on {t.device}; fastoptim steps CPU tensors only")
    if t.is_conj() or t.is_neg():
        raise ValueError(f"{what} has a lazy conjugate/negative bit; call .resolve_conj()")
    if t.dtype == torch.bfloat16:
        return t.detach().view(torch.int16).numpy().view(_fo.lowp.bfloat16())
    if t.dtype not in _NUMPY_DTYPES:
        raise TypeError(f"{what}: dtype {t.dtype} is not supported (float32, float64, float16, "
                        "bfloat16)")
    return t.detach().numpy()


def _param_view(p: Any, what: str) -> np.ndarray:
    if not isinstance(p, torch.Tensor):
        raise TypeError(f"{what}: expected a torch.Tensor, got {type(p).__name__}")
    if not p.is_contiguous():
        raise ValueError(f"{what} is not contiguous (strides {p.stride()}); the step updates "
                         "it in place, so it cannot work on a copy: pass a contiguous tensor")
    return _view(p, what)


class _StateView(Mapping):
    """``opt.state``: param tensor -> {"step": tensor, buffers as tensors sharing memory}."""

    def __init__(self, opt: _Optimizer) -> None:
        self._opt = opt

    def _index(self, p: Any) -> int | None:
        return self._opt._index_of.get(id(p))

    def __getitem__(self, p: Any) -> dict[str, Any]:
        i = self._index(p)
        if i is None:
            raise KeyError(p)
        st = self._opt._fo.state[self._opt._arrays[i]]
        return {k: _to_tensor(k, v) for k, v in st.items()}

    def __iter__(self) -> Iterator[torch.Tensor]:
        fo_state = self._opt._fo.state
        return iter([t for t, a in zip(self._opt._tensors, self._opt._arrays) if fo_state[a]])

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _to_tensor(name: str, v: Any) -> Any:
    if name == "step":
        return torch.tensor(float(v), dtype=torch.float32)
    if name == "mu_product":
        return torch.tensor(float(v), dtype=torch.float64)
    if isinstance(v, np.ndarray):
        if v.dtype == _fo.lowp.bfloat16():
            return torch.from_numpy(v.view(np.int16)).view(torch.bfloat16)
        return torch.from_numpy(v)
    return v  # int8 state: a fastoptim.lowp.Quantized (codes + scales)


def _from_tensor(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        if v.dtype == torch.bfloat16:
            return v.detach().cpu().view(torch.int16).numpy().view(_fo.lowp.bfloat16())
        if v.ndim == 0:
            return v.item()
        return v.detach().cpu().numpy()
    return v


class _Optimizer(torch.optim.Optimizer):
    """The base of fastoptim.torch's optimizers (see the module docstring)."""

    _fo_cls: type

    def __init__(self, params: Any, *args: Any, **kwargs: Any) -> None:
        switches = {k: kwargs.pop(k, v) for k, v in _SWITCHES.items()}
        for k in ("capturable", "differentiable"):
            if switches.get(k):
                raise ValueError(f"{type(self).__name__}: {k}=True is not supported by "
                                 "fastoptim.torch (CPU tensors, no autograd through the step)")
        whole = {k: kwargs.pop(k) for k in _WHOLE if k in kwargs}
        # fastoptim validates and completes the options (its defaults are torch's)
        # torch takes a tensor lr (and tensor betas, as schedulers that fill them in place):
        # torch's groups keep the tensors, fastoptim gets their values (synced every step)
        given = inspect.signature(self._fo_cls).bind(params, *args, **kwargs).arguments
        as_given = {k: v for k, v in given.items()
                    if k != "params" and _fo_value(v) is not v}  # tensors, lists
        probe = self._fo_cls([np.zeros(1, np.float32)], *map(_fo_value, args),
                             **{k: _fo_value(v) for k, v in kwargs.items()})
        self._fo_keys = tuple(probe.defaults)
        self._fo_whole = whole
        self._fo = None
        self._tensors: list[torch.Tensor] = []
        self._index_of: dict[int, int] = {}  # id(param tensor) -> index (opt.state lookups)
        self._arrays: list[np.ndarray] = []
        self._synced: list[tuple] = []  # per group: its option values at the last sync
        super().__init__(params, {**probe.defaults, **as_given, **switches})
        groups = [{"params": [self._arrays[i] for i in idx],
                   **{k: _fo_value(g[k]) for k in self._fo_keys}}
                  for g, idx in zip(self.param_groups, self._group_indices())]
        self._fo = self._fo_cls(groups, **whole)
        self.state = _StateView(self)  # type: ignore[assignment]

    # ------------------------------------------------------------------ copy, pickle
    def __getstate__(self) -> dict[str, Any]:
        """torch's (defaults, param groups with their tensors) and fastoptim's state dict: a
        copy or an unpickled optimizer steps the tensors it was copied or unpickled with (copy
        the model and the optimizer together, as with torch, so they stay one) and continues
        bit for bit as the original would."""
        return {"defaults": self.defaults, "param_groups": self.param_groups,
                "_fo_keys": self._fo_keys, "_fo_whole": self._fo_whole,
                "_fo_state": self._fo.state_dict()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        fo_state = state.pop("_fo_state")
        super().__setstate__({**state, "state": {}})  # torch's hooks and step patch
        self._synced = []
        self._tensors = [p for g in self.param_groups for p in g["params"]]
        self._index_of = {id(p): i for i, p in enumerate(self._tensors)}
        self._arrays = [_param_view(p, f"param {i}") for i, p in enumerate(self._tensors)]
        groups = [{"params": [self._arrays[i] for i in idx],
                   **{k: _fo_value(g[k]) for k in self._fo_keys}}
                  for g, idx in zip(self.param_groups, self._group_indices())]
        self._fo = self._fo_cls(groups, **self._fo_whole)
        self._fo.load_state_dict(fo_state)
        self.state = _StateView(self)  # type: ignore[assignment]

    def _group_indices(self) -> list[list[int]]:
        out, start = [], 0
        for g in self.param_groups:
            out.append(list(range(start, start + len(g["params"]))))
            start += len(g["params"])
        return out

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        start = len(self._tensors)
        arrays = [_param_view(p, f"param {start + k} (param_groups[{len(self.param_groups) - 1}]"
                                 f"['params'][{k}])") for k, p in enumerate(group["params"])]
        try:
            if self._fo is not None:
                self._fo.add_param_group({"params": arrays,
                                          **{k: _fo_value(group[k]) for k in self._fo_keys}})
        except Exception:
            self.param_groups.pop()
            raise
        for k, p in enumerate(group["params"]):
            self._index_of[id(p)] = start + k
        self._tensors += list(group["params"])
        self._arrays += arrays

    def _sync_options(self) -> None:
        """Copy options changed in torch's param_groups (by the user or a scheduler) into
        fastoptim's groups; only what changed is written (an unchanged group keeps the step's
        fast path). A group whose values are the very objects of the last sync is skipped in
        one comparison."""
        keys, synced = self._fo_keys, self._synced
        if len(synced) != len(self.param_groups):
            synced[:] = [()] * len(self.param_groups)
        for gi, (tg, fg) in enumerate(zip(self.param_groups, self._fo.param_groups)):
            values = tuple(map(tg.__getitem__, keys))
            last = synced[gi]
            if len(last) == len(values) and not any(map(operator.is_not, values, last)):
                continue
            for k, v in zip(keys, values):
                v = _fo_value(v)
                old = fg[k]
                if old is not v and (type(old) is not type(v) or old != v):
                    fg[k] = v
            # an option object that can change in place (a tensor lr that a scheduler fills, a
            # list of betas) is compared by value at every step
            mutable = any(isinstance(v, (torch.Tensor, list, dict)) or (
                isinstance(v, tuple) and any(isinstance(x, torch.Tensor) for x in v))
                for v in values)
            synced[gi] = () if mutable else values

    def _grads(self) -> list[np.ndarray | None]:
        try:  # the common case in < 1 us a param: dense CPU tensors NumPy can view
            return [None if (g := p.grad) is None else g.numpy() for p in self._tensors]
        except (TypeError, RuntimeError):  # the checks say which and why (or view bfloat16)
            pass
        out: list[np.ndarray | None] = []
        for i, p in enumerate(self._tensors):
            g = p.grad
            if g is None:
                out.append(None)
                continue
            try:
                out.append(g.numpy())
            except (TypeError, RuntimeError):
                out.append(_view(g, f"grad of param {i}"))
        return out

    def step(self, *args: Any, **kwargs: Any) -> Any:
        """``step(closure=None)``: one step over every param whose ``grad`` is not None
        (torch's semantics); returns ``closure()``'s loss when given (evaluated with grad
        enabled). torch's step pre- and post-hooks (global and per optimizer) run around it as
        around torch's own step (with the same ``args``, ``kwargs``), and it shows in torch's
        profiler as ``Optimizer.step#<class>.step``."""
        if torch.autograd._profiler_enabled():
            with torch.autograd.profiler.record_function(
                    f"Optimizer.step#{type(self).__name__}.step"):
                return self._hooked_step((self, *args), kwargs)
        return self._hooked_step((self, *args), kwargs)

    # torch's Optimizer wraps a step that is not marked hooked in its profiling wrapper (a
    # record_function, ~5 us a step even with the profiler off): this one runs the same hooks
    # and records only while the profiler is on.
    step.hooked = True  # type: ignore[attr-defined]

    def _hooked_step(self, args: tuple, kwargs: dict) -> Any:
        pre = self._optimizer_step_pre_hooks
        if _GLOBAL_PRE or pre:
            for hook in (*_GLOBAL_PRE.values(), *pre.values()):
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(f"{hook} must return None or a tuple of (new_args, "
                                           f"new_kwargs), but got {result}.")
                    args, kwargs = result
        closure = _closure_argument(*args[1:], **kwargs)
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self._sync_options()
        grads = self._grads()
        applied = self._fo.step(grads)
        if applied is not False:
            # autograd sees the in-place change, as after torch's own step
            if any(g is None for g in grads):
                _bump_versions([p for p, g in zip(self._tensors, grads) if g is not None])
            else:
                _bump_versions(self._tensors)
        self._optimizer_step_code()
        post = self._optimizer_step_post_hooks
        if post or _GLOBAL_POST:
            for hook in (*post.values(), *_GLOBAL_POST.values()):
                hook(self, args, kwargs)
        return loss

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, Any]:
        """torch's format: ``{"state": {index: {"step": tensor, name: tensor}},
        "param_groups": [{options..., "params": [indices]}]}`` (tensors are copies)."""
        sd = self._fo.state_dict()
        state = {i: {k: _to_tensor(k, v) for k, v in st.items()} for i, st in sd["state"].items()}
        groups = []
        for g, idx in zip(self.param_groups, self._group_indices()):
            groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": idx})
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load a state dict of this class or of the torch.optim optimizer of the same name;
        validated completely before anything changes."""
        if not isinstance(state_dict, Mapping) or "state" not in state_dict or \
                "param_groups" not in state_dict:
            raise ValueError("state_dict must have 'state' and 'param_groups' entries")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"state_dict has {len(saved_groups)} param groups, this optimizer "
                             f"{len(self.param_groups)}")
        current = self._fo.state_dict()
        groups = []
        for gi, (saved, mine) in enumerate(zip(saved_groups, current["param_groups"])):
            g = dict(mine)
            g.update({k: _from_tensor(v) for k, v in saved.items() if k in self._fo_keys})
            if isinstance(g.get("betas"), list):
                g["betas"] = tuple(g["betas"])
            g["params"] = list(saved["params"])
            groups.append(g)
        state = {}
        for key, st in state_dict["state"].items():
            st = {k: _from_tensor(v) for k, v in st.items()}
            if "step" not in st:  # torch's SGD keeps no count: a buffer means a step taken
                st["step"] = 1 if any(v is not None for v in st.values()) else 0
            st = {k: v for k, v in st.items() if v is not None}
            if "step" in st and isinstance(st["step"], float) and st["step"].is_integer():
                st["step"] = int(st["step"])
            state[int(key)] = st
        self._fo.load_state_dict({**current, "state": state, "param_groups": groups})
        # torch's groups take the loaded options (their params stay)
        for tg, saved in zip(self.param_groups, saved_groups):
            for k, v in saved.items():
                if k != "params":
                    tg[k] = v


def _fo_value(v: Any) -> Any:
    """An option as fastoptim takes it: a one-element tensor's value, a list as a tuple (of
    values: torch allows tensor betas)."""
    if isinstance(v, torch.Tensor):
        return v.item()
    if isinstance(v, (list, tuple)) and any(isinstance(x, torch.Tensor) for x in v):
        return tuple(_fo_value(x) for x in v)
    return tuple(v) if isinstance(v, list) else v


def _closure_argument(closure: Any = None) -> Any:
    """step()'s own signature, ``step(closure=None)``, applied to the arguments it got."""
    return closure


def _make(name: str) -> type:
    fo_cls = getattr(_fo, name)
    doc = (f"``torch.optim.{name}`` as a torch optimizer, stepped by :class:`fastoptim.{name}`"
           if name != "Lion" else "Lion (Chen et al. 2023, as fastoptim.Lion; torch has none) "
           "as a torch optimizer") + " (the same arguments and defaults; see :mod:`fastoptim.torch`)."
    return type(name, (_Optimizer,), {"_fo_cls": fo_cls, "__doc__": doc,
                                      "__module__": __name__, "__qualname__": name})


SGD = _make("SGD")
Adam = _make("Adam")
AdamW = _make("AdamW")
Adagrad = _make("Adagrad")
RMSprop = _make("RMSprop")
Adamax = _make("Adamax")
NAdam = _make("NAdam")
RAdam = _make("RAdam")
Adadelta = _make("Adadelta")
Lion = _make("Lion")
