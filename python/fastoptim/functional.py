"""The optimizers as functions of explicit arrays and a step count (for users who keep their
own state, JAX-style).

Each function updates ``param`` and its state buffers in place, in one native call (the same
ISA dispatch, threads and GIL release as the classes), after the same validation with the same
errors (the options by the class's checks, the arrays by ``_native.Plan``). The coefficients
come from the very function the class uses (``fastoptim.optim.adam.adam_coefficients``, ...),
so ``adam_(p, g, m, v, step=t, **options)`` gives the bits of ``fo.Adam([p], **options)`` at
its t-th step::

    import fastoptim as fo
    state = fo.functional.init_state("adam", p)           # {"exp_avg": 0s, "exp_avg_sq": 0s}
    for t in range(1, n + 1):
        fo.functional.adam_(p, grad(p), **state, step=t, lr=1e-3)

The options are the class's (same names, defaults and checks; ``lr`` may be a schedule
``count -> lr``, called with ``step - 1``). ``param``, ``grad`` and each state are one array
or lists of arrays in the same order (one multi-tensor call). A state an option needs (Adam's
``max_exp_avg_sq`` with ``amsgrad``, SGD's ``momentum_buffer`` with ``momentum``, ...) must be
given; :func:`init_state` makes them as the class does.
"""

from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Sequence
from typing import Any, Callable, Optional, Union

import numpy as np

from . import _native
from .optim import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Lion, NAdam, RAdam, RMSprop
from .optim.adadelta import adadelta_coefficients
from .optim.adagrad import adagrad_coefficients
from .optim.adam import adam_coefficients
from .optim.adamax import adamax_coefficients
from .optim.base import Optimizer, check_lr_value
from .optim.lion import lion_coefficients
from .optim.nadam import nadam_coefficients
from .optim.radam import radam_coefficients
from .optim.rmsprop import rmsprop_coefficients
from .optim.sgd import sgd_coefficients

__all__ = ["sgd_", "adam_", "adamw_", "adagrad_", "rmsprop_", "adamax_", "nadam_", "radam_",
           "adadelta_", "lion_", "init_state"]

Arrays = Union[np.ndarray, Sequence[np.ndarray]]
State = Optional[Arrays]

#: The class of each function (init_state's names).
CLASSES: dict[str, type[Optimizer]] = {
    "sgd": SGD, "adam": Adam, "adamw": AdamW, "adagrad": Adagrad, "rmsprop": RMSprop,
    "adamax": Adamax, "nadam": NAdam, "radam": RAdam, "adadelta": Adadelta, "lion": Lion,
}


@functools.cache
def _template(cls: type[Optimizer]) -> Optimizer:
    """An instance of ``cls`` on a dummy param: its defaults, option checks and kernel layout
    (never stepped)."""
    return cls([np.zeros(1)])


def _group(cls: type[Optimizer], options: dict[str, Any]) -> tuple[Optimizer, dict[str, Any]]:
    """The class's defaults updated by ``options``, validated by the class's own checks."""
    opt = _template(cls)
    unknown = sorted(set(options) - set(opt.defaults))
    if unknown:
        raise TypeError(f"options: unknown option(s) {unknown} for {cls.__name__} "
                        f"(options: {sorted(opt.defaults)})")
    group = {**opt.defaults, **options}
    opt._check_group(group, -1)
    return opt, group


def _resolve(cls: type[Optimizer], options: dict[str, Any],
             step: Any) -> tuple[Optimizer, dict[str, Any], float]:
    """(template, validated options, lr at this step)."""
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise TypeError(f"step must be an int (1 for the first step), got {type(step).__name__}")
    if step < 1:
        raise ValueError(f"step must be >= 1 (the first step is 1), got {step}")
    opt, group = _group(cls, options)
    lr = group["lr"]
    lr = check_lr_value(lr(int(step) - 1), -1) if callable(lr) else float(lr)
    return opt, group, lr


def _as_list(x: Any, what: str) -> list:
    if isinstance(x, np.ndarray):
        return [x]
    if isinstance(x, (list, tuple)):
        return list(x)
    raise TypeError(f"{what} must be an array or a list of arrays, got {type(x).__name__}")


def _run(opt: Optimizer, coefficients: dict[str, float], param: Arrays, grad: Arrays,
         **states: State) -> None:
    """One native step of ``opt``'s kernel over ``param`` (and the given states)."""
    params, grads = _as_list(param, "param"), _as_list(grad, "grad")
    lists = {name: _as_list(s, name) for name, s in states.items() if s is not None}
    plan = _native.Plan(opt._kernel, params, lists, [f"params[{i}]" for i in range(len(params))])
    plan.step(grads, [opt._coeff_getter(coefficients)], np.zeros(len(params), np.int64))


def _call(cls: type[Optimizer], coefficients: Callable[..., dict[str, float]], step: int,
          options: dict[str, Any], param: Arrays, grad: Arrays, **states: State) -> None:
    opt, group, lr = _resolve(cls, options, step)
    _run(opt, coefficients(group, lr, step), param, grad, **states)


def _options_of(cls: type[Optimizer]) -> Callable[[Callable], Callable]:
    """Shows the class's options (with their defaults) as keyword-only parameters in the
    function's signature, for help() and IDEs, in place of ``**options``."""
    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        own = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
        names = {p.name for p in own}
        extra = [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v)
                 for k, v in _template(cls).defaults.items() if k not in names]
        fn.__signature__ = sig.replace(parameters=own + extra)  # type: ignore[attr-defined]
        return fn
    return decorate


def init_state(optimizer: str, param: Arrays, **options: Any) -> dict[str, Any]:
    """The state buffers ``<optimizer>_`` needs with these options, as the class creates them
    (zeros; Adagrad's ``sum`` at ``initial_accumulator_value``, RMSprop's ``square_avg`` at
    ``initial_square_avg``), keyed by the functions' argument names: pass them as
    ``**state``. ``param``: an array or a list of arrays (then each state is a list)."""
    if optimizer not in CLASSES:
        raise ValueError(f"unknown optimizer {optimizer!r} (one of {sorted(CLASSES)})")
    opt, group = _group(CLASSES[optimizer], options)
    params = _as_list(param, "param")
    state = {name: [opt._new_buffer(name, p, group) for p in params]
             for name in opt._state_layout(group)}
    return {k: (v[0] if isinstance(param, np.ndarray) else v) for k, v in state.items()}


# ------------------------------------------------------------------------- the functions
@_options_of(SGD)
def sgd_(param: Arrays, grad: Arrays, momentum_buffer: State = None, *, step: int,
         **options: Any) -> None:
    """SGD (:class:`fastoptim.SGD`, its options). ``momentum_buffer`` (needed when momentum
    != 0) is set from the gradient at ``step=1`` (torch's clone), whatever it holds."""
    opt, group, lr = _resolve(SGD, options, step)
    _run(opt, sgd_coefficients(group, lr, step, fresh=step == 1), param, grad,
         momentum_buffer=momentum_buffer)


@_options_of(Adam)
def adam_(param: Arrays, grad: Arrays, exp_avg: Arrays, exp_avg_sq: Arrays,
          max_exp_avg_sq: State = None, *, step: int, **options: Any) -> None:
    """Adam (:class:`fastoptim.Adam`, its options; ``max_exp_avg_sq`` with amsgrad)."""
    _call(Adam, adam_coefficients, step, options, param, grad, exp_avg=exp_avg,
          exp_avg_sq=exp_avg_sq, max_exp_avg_sq=max_exp_avg_sq)


@_options_of(AdamW)
def adamw_(param: Arrays, grad: Arrays, exp_avg: Arrays, exp_avg_sq: Arrays,
           max_exp_avg_sq: State = None, *, step: int, **options: Any) -> None:
    """AdamW (:class:`fastoptim.AdamW`: Adam's kernel, AdamW's defaults)."""
    _call(AdamW, adam_coefficients, step, options, param, grad, exp_avg=exp_avg,
          exp_avg_sq=exp_avg_sq, max_exp_avg_sq=max_exp_avg_sq)


@_options_of(Adagrad)
def adagrad_(param: Arrays, grad: Arrays, sum: Arrays, *, step: int,
             **options: Any) -> None:
    """Adagrad (:class:`fastoptim.Adagrad`, its options); ``sum`` is torch's state name."""
    _call(Adagrad, adagrad_coefficients, step, options, param, grad, sum=sum)


@_options_of(RMSprop)
def rmsprop_(param: Arrays, grad: Arrays, square_avg: Arrays, momentum_buffer: State = None,
             grad_avg: State = None, *, step: int, **options: Any) -> None:
    """RMSprop (:class:`fastoptim.RMSprop`, its options; ``momentum_buffer`` with momentum,
    ``grad_avg`` when centered)."""
    _call(RMSprop, rmsprop_coefficients, step, options, param, grad, square_avg=square_avg,
          momentum_buffer=momentum_buffer, grad_avg=grad_avg)


@_options_of(Adamax)
def adamax_(param: Arrays, grad: Arrays, exp_avg: Arrays, exp_inf: Arrays, *, step: int,
            **options: Any) -> None:
    """Adamax (:class:`fastoptim.Adamax`, its options)."""
    _call(Adamax, adamax_coefficients, step, options, param, grad, exp_avg=exp_avg,
          exp_inf=exp_inf)


@_options_of(NAdam)
def nadam_(param: Arrays, grad: Arrays, exp_avg: Arrays, exp_avg_sq: Arrays, *, step: int,
           mu_product: float | None = None, **options: Any) -> float:
    """NAdam (:class:`fastoptim.NAdam`, its options). Returns the product of the momentum
    coefficients mu_1 ... mu_t: pass it back as ``mu_product`` at the next step (the class
    keeps it as state; None = 1, right only at ``step=1`` or without ``momentum_schedule``)."""
    opt, group, lr = _resolve(NAdam, options, step)
    if mu_product is None:
        if step != 1 and group["momentum_schedule"]:
            raise ValueError("nadam_: pass mu_product, the value the previous step returned "
                             "(the product of the momentum coefficients so far)")
        mu_product = 1.0
    if isinstance(mu_product, bool) or not isinstance(mu_product, numbers.Real) or not (
        0.0 <= float(mu_product) <= 1.0
    ):
        raise ValueError(f"mu_product must be a number in [0, 1], got {mu_product!r}")
    coefficients, product = nadam_coefficients(group, lr, step, float(mu_product))
    _run(opt, coefficients, param, grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq)
    return product


@_options_of(RAdam)
def radam_(param: Arrays, grad: Arrays, exp_avg: Arrays, exp_avg_sq: Arrays, *, step: int,
           **options: Any) -> None:
    """RAdam (:class:`fastoptim.RAdam`, its options)."""
    _call(RAdam, radam_coefficients, step, options, param, grad, exp_avg=exp_avg,
          exp_avg_sq=exp_avg_sq)


@_options_of(Adadelta)
def adadelta_(param: Arrays, grad: Arrays, square_avg: Arrays, acc_delta: Arrays, *,
              step: int, **options: Any) -> None:
    """Adadelta (:class:`fastoptim.Adadelta`, its options)."""
    _call(Adadelta, adadelta_coefficients, step, options, param, grad, square_avg=square_avg,
          acc_delta=acc_delta)


@_options_of(Lion)
def lion_(param: Arrays, grad: Arrays, exp_avg: Arrays, *, step: int, **options: Any) -> None:
    """Lion (:class:`fastoptim.Lion`, its options)."""
    _call(Lion, lion_coefficients, step, options, param, grad, exp_avg=exp_avg)
