"""optax's optimizers (``optax.adam`` & co.) on NumPy params: optax's argument names, defaults
and formulas (optax/_src/alias.py, transform.py), computed by fastoptim's kernels.

Each function returns the fastoptim optimizer of the same algorithm with the options that give
optax's formula (see its docstring and the README's "one optimizer, three libraries" table);
it steps in place with ``.step(grads)``, no ``init``/``update``/``apply_updates``::

    opt = fo.optax.adam(params, learning_rate=1e-3)     # fo.Adam(params, lr=1e-3)
    opt.step(grads)

``learning_rate`` may be a schedule ``count -> lr`` (optax's convention: ``count`` is the
number of steps already taken, as fastoptim's schedules; optax's own schedules work when they
return a number or a 0-d array). ``mask`` (adamw, adamaxw, lion) may be a list/dict of bools
in the params' structure, or a callable params -> such a mask: params with False get no weight
decay (they go to a param group of their own, order kept).

The results agree with optax's to float rounding, not bit for bit: optax multiplies the
bias-corrected moments and the learning rate in another order (``-lr * (m / (1 - b1^t)) /
denom`` vs our ``(-lr / (1 - b1^t) * m) / denom``), uses ``rsqrt`` (Adagrad, RMSprop) and
computes ``b1 ** count`` in the moments' dtype. Not reproduced (a ValueError says so):
``mu_dtype``/``accumulator_dtype`` other than None (fastoptim keeps every state in the param's
dtype), a schedule as ``weight_decay``, ``rmsprop(nesterov=True)`` and
``rmsprop(bias_correction=True)``, ``adadelta(learning_rate=None)`` (optax then adds the update
without flipping its sign, which moves along the gradient).
Keyword arguments past optax's pass through to the fastoptim class (``nonfinite=``,
``clip_norm=``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, Callable, Union

from . import optim as _optim
from .optim.base import Optimizer, ParamsT

__all__ = ["sgd", "adam", "adamw", "nadam", "nadamw", "amsgrad", "adamax", "adamaxw",
           "rmsprop", "adagrad", "adadelta", "lion"]

ScalarOrSchedule = Union[float, Callable[[int], Any]]
Mask = Union[None, list, tuple, Mapping, Callable[[Any], Any]]


def _lr(learning_rate: ScalarOrSchedule) -> Any:
    if callable(learning_rate):
        schedule = learning_rate
        return lambda count: float(schedule(count))  # optax schedules return 0-d arrays
    return learning_rate


def _no_dtype(**dtypes: Any) -> None:
    for key, value in dtypes.items():
        if value is not None:
            raise ValueError(f"fastoptim.optax: {key}={value!r} is not supported: fastoptim "
                             f"keeps every state in the param's dtype ({key}=None)")


def _masked(params: ParamsT, mask: Mask) -> Any:
    """``params`` as param groups where ``mask`` is False for some params: those get
    ``weight_decay=0`` (optax's ``mask``), in groups of consecutive params (order kept)."""
    if mask is None:
        return params
    if callable(mask):
        mask = mask(params)
    if isinstance(params, Mapping):
        if not isinstance(mask, Mapping) or set(mask) != set(params):
            raise ValueError("mask must be a dict with the params' keys")
        keys = list(params)
        flags = [bool(mask[k]) for k in keys]
        runs = itertools.groupby(zip(keys, flags), key=lambda kf: kf[1])
        return [{"params": {k: params[k] for k, _ in run}, **({} if on else {"weight_decay": 0.0})}
                for on, run in runs]
    if not isinstance(params, (list, tuple)) or not isinstance(mask, (list, tuple)) or len(
        mask) != len(params):
        raise ValueError("mask must be a list of bools, one per param (or a dict for dict "
                         "params)")
    runs = itertools.groupby(zip(params, (bool(m) for m in mask)), key=lambda pf: pf[1])
    return [{"params": [p for p, _ in run], **({} if on else {"weight_decay": 0.0})}
            for on, run in runs]


def sgd(params: ParamsT, learning_rate: ScalarOrSchedule, momentum: float | None = None,
        nesterov: bool = False, accumulator_dtype: Any = None, **options: Any) -> _optim.SGD:
    """``optax.sgd``: ``trace`` (buf = g + momentum * buf; Nesterov g + momentum * buf) then
    ``-lr``: exactly torch's SGD without dampening, ``fastoptim.SGD``."""
    _no_dtype(accumulator_dtype=accumulator_dtype)
    return _optim.SGD(params, lr=_lr(learning_rate), momentum=momentum or 0.0,
                      nesterov=bool(nesterov and momentum), **options)


def adam(params: ParamsT, learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999,
         eps: float = 1e-8, eps_root: float = 0.0, mu_dtype: Any = None, *,
         nesterov: bool = False, **options: Any) -> Optimizer:
    """``optax.adam``: ``m_hat / (sqrt(v_hat + eps_root) + eps)`` times ``-lr``: torch's Adam
    with ``eps_root`` (``fastoptim.Adam``). ``nesterov=True`` is :func:`nadam`."""
    _no_dtype(mu_dtype=mu_dtype)
    if nesterov:
        return _optim.NAdam(params, lr=_lr(learning_rate), betas=(b1, b2), eps=eps,
                            eps_root=eps_root, momentum_schedule=False, **options)
    return _optim.Adam(params, lr=_lr(learning_rate), betas=(b1, b2), eps=eps,
                       eps_root=eps_root, **options)


def adamw(params: ParamsT, learning_rate: ScalarOrSchedule, b1: float = 0.9,
          b2: float = 0.999, eps: float = 1e-8, eps_root: float = 0.0, mu_dtype: Any = None,
          weight_decay: float = 1e-4, mask: Mask = None, *, nesterov: bool = False,
          **options: Any) -> Optimizer:
    """``optax.adamw``: Adam's update plus ``weight_decay * p``, times ``-lr``: decoupled weight
    decay, ``p * (1 - lr * weight_decay)`` (``fastoptim.AdamW``; nesterov: NAdam's kernel)."""
    return adam(_masked(params, mask), learning_rate, b1, b2, eps, eps_root, mu_dtype,
                nesterov=nesterov, weight_decay=weight_decay, decoupled_weight_decay=True,
                **options)


def nadam(params: ParamsT, learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999,
          eps: float = 1e-8, eps_root: float = 0.0, mu_dtype: Any = None,
          **options: Any) -> _optim.NAdam:
    """``optax.nadam`` (``adam(nesterov=True)``): ``m_hat = b1 * m / (1 - b1^(t+1)) +
    (1 - b1) * g / (1 - b1^t)``, no momentum schedule: ``fastoptim.NAdam`` with
    ``momentum_schedule=False``."""
    return adam(params, learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov=True, **options)


def nadamw(params: ParamsT, learning_rate: ScalarOrSchedule, b1: float = 0.9,
           b2: float = 0.999, eps: float = 1e-8, eps_root: float = 0.0, mu_dtype: Any = None,
           weight_decay: float = 1e-4, mask: Mask = None, **options: Any) -> _optim.NAdam:
    """``optax.nadamw`` (``adamw(nesterov=True)``)."""
    return adamw(params, learning_rate, b1, b2, eps, eps_root, mu_dtype, weight_decay, mask,
                 nesterov=True, **options)


def amsgrad(params: ParamsT, learning_rate: ScalarOrSchedule, b1: float = 0.9,
            b2: float = 0.999, eps: float = 1e-8, eps_root: float = 0.0, mu_dtype: Any = None,
            bias_correction_mu: bool = True, bias_correction_nu: bool = True,
            **options: Any) -> _optim.Adam:
    """``optax.amsgrad``: the max of the bias-corrected v, ``m_hat / (sqrt(max(v_hat) +
    eps_root) + eps)``: ``fastoptim.Adam`` with ``amsgrad_max="corrected"``."""
    _no_dtype(mu_dtype=mu_dtype)
    return _optim.Adam(params, lr=_lr(learning_rate), betas=(b1, b2), eps=eps,
                       eps_root=eps_root, amsgrad=True, amsgrad_max="corrected",
                       bias_correction=(bias_correction_mu, bias_correction_nu), **options)


def adamax(params: ParamsT, learning_rate: ScalarOrSchedule, b1: float = 0.9,
           b2: float = 0.999, eps: float = 1e-8, **options: Any) -> _optim.Adamax:
    """``optax.adamax``: ``u = max(|g| + eps, b2 * u)``, ``-lr * m_hat / u``: torch's Adamax
    (``fastoptim.Adamax``)."""
    return _optim.Adamax(params, lr=_lr(learning_rate), betas=(b1, b2), eps=eps, **options)


def adamaxw(params: ParamsT, learning_rate: ScalarOrSchedule, b1: float = 0.9,
            b2: float = 0.999, eps: float = 1e-8, weight_decay: float = 1e-4, mask: Mask = None,
            **options: Any) -> _optim.Adamax:
    """``optax.adamaxw``: Adamax with decoupled weight decay."""
    return adamax(_masked(params, mask), learning_rate, b1, b2, eps, weight_decay=weight_decay,
                  decoupled_weight_decay=True, **options)


def rmsprop(params: ParamsT, learning_rate: ScalarOrSchedule, decay: float = 0.9,
            eps: float = 1e-8, initial_scale: float = 0.0, eps_in_sqrt: bool = True,
            centered: bool = False, momentum: float | None = None, nesterov: bool = False,
            bias_correction: bool = False, **options: Any) -> _optim.RMSprop:
    """``optax.rmsprop``: ``g * rsqrt(nu + eps)`` (centered: ``rsqrt(nu - mu**2 + eps)``),
    nu starting at ``initial_scale``, times ``-lr``, then ``trace(momentum)``: the lr inside the
    momentum buffer. ``fastoptim.RMSprop`` with ``alpha=decay``, ``eps_in_sqrt``,
    ``initial_square_avg=initial_scale`` and ``lr_in_momentum=True``."""
    if nesterov and momentum is not None:
        raise ValueError("fastoptim.optax.rmsprop: nesterov=True is not supported (fastoptim's "
                         "RMSprop kernel has plain momentum only)")
    if bias_correction:
        raise ValueError("fastoptim.optax.rmsprop: bias_correction=True is not supported")
    return _optim.RMSprop(params, lr=_lr(learning_rate), alpha=decay, eps=eps,
                          momentum=momentum or 0.0, centered=centered, eps_in_sqrt=eps_in_sqrt,
                          lr_in_momentum=True, initial_square_avg=initial_scale, **options)


def adagrad(params: ParamsT, learning_rate: ScalarOrSchedule,
            initial_accumulator_value: float = 0.1, eps: float = 1e-7,
            **options: Any) -> _optim.Adagrad:
    """``optax.adagrad``: ``sum += g**2``, ``-lr * g * rsqrt(sum + eps)`` (0 where sum = 0):
    ``fastoptim.Adagrad`` with ``eps_in_sqrt=True``."""
    return _optim.Adagrad(params, lr=_lr(learning_rate),
                          initial_accumulator_value=initial_accumulator_value, eps=eps,
                          eps_in_sqrt=True, **options)


def adadelta(params: ParamsT, learning_rate: ScalarOrSchedule | None = None,
             rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0,
             weight_decay_mask: Mask = None, **options: Any) -> _optim.Adadelta:
    """``optax.adadelta``: ``g + weight_decay * p`` (L2), Zeiler's update, times ``-lr``:
    torch's Adadelta (``fastoptim.Adadelta``). ``learning_rate=None`` (optax's default) is
    refused: optax then applies the update with its sign unflipped, along the gradient."""
    if learning_rate is None:
        raise ValueError("fastoptim.optax.adadelta: give a learning_rate (1.0 is Zeiler's "
                         "Adadelta); with learning_rate=None optax adds the update without "
                         "flipping its sign, which moves along the gradient (ascent)")
    return _optim.Adadelta(_masked(params, weight_decay_mask), lr=_lr(learning_rate), rho=rho,
                           eps=eps, weight_decay=weight_decay, **options)


def lion(params: ParamsT, learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.99,
         mu_dtype: Any = None, weight_decay: float = 1e-3, mask: Mask = None,
         **options: Any) -> _optim.Lion:
    """``optax.lion``: ``sign((1 - b1) * g + b1 * m) + weight_decay * p``, times ``-lr``
    (``fastoptim.Lion``; optax's sign of NaN is NaN, ours 0)."""
    _no_dtype(mu_dtype=mu_dtype)
    return _optim.Lion(_masked(params, mask), lr=_lr(learning_rate), betas=(b1, b2),
                       weight_decay=weight_decay, **options)

