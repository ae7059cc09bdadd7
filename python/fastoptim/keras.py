"""Keras 3's optimizers (``keras.optimizers.*``) on NumPy params: Keras's argument names,
defaults and formulas (``keras/src/optimizers/*.py``), computed by fastoptim's kernels.

Each class is the fastoptim optimizer of the same algorithm with the options that give
Keras's formula (see its docstring and the README's "one optimizer, three libraries" table),
so it takes NumPy params (a list or a dict name -> array, or param groups), steps with
``opt.step(grads)`` and has fastoptim's state dicts::

    opt = fo.keras.Adam(params, learning_rate=1e-3)     # fo.Adam(..., eps=1e-7, eps_hat=True)
    opt.step(grads)

What is reproduced, from Keras's sources:

- the update formulas: Adam/AdamW's epsilon hat, RMSprop's and Adagrad's epsilon inside the
  square root, the lr inside SGD's and RMSprop's momentum buffer, Adagrad's accumulator
  starting at 0.1, Adamax's epsilon outside the max, Nadam's schedule 0.96^t;
- ``weight_decay`` as Keras applies it for every optimizer: ``p -= p * weight_decay * lr``
  before the update (decoupled; fastoptim computes ``p * (1 - lr * weight_decay)``, the same
  up to one rounding);
- the learning rate in float32: Keras keeps a constant ``learning_rate`` in a variable of
  dtype ``keras.config.floatx()`` ("float32" by default) and casts it to the weights' dtype,
  so float64 weights see ``float32(learning_rate)`` (0.001 is 0.0010000000474974513). We
  round it the same way (``floatx="float64"`` for a Keras configured with
  ``set_floatx("float64")``). A schedule's value is used as it returns it.

The results then agree with Keras's to float rounding, not bit for bit: our kernels keep
torch's operation order (Keras's ``m += (g - m) * (1 - beta_1)`` is our lerp,
``(1 - rho) * g**2`` our ``((1 - rho) * g) * g``, ...) and Keras computes its per-step
scalars (``beta_1 ** t`` ...) in the weights' dtype where we use float64.

``learning_rate`` may be a number or a schedule ``count -> lr`` called with the number of
steps already taken, as Keras calls a ``LearningRateSchedule`` (with its ``iterations``);
Keras's zero-argument callables are not supported (wrap one as ``lambda count: f()``).

Keras's other base-optimizer arguments raise a ValueError naming what to use instead when
set to anything but their defaults: ``clipnorm``, ``clipvalue``, ``global_clipnorm`` (our
``clip_norm=`` is torch's ``clip_grad_norm_``, ``max_norm / (norm + 1e-6)``, not Keras's
``clip * min(1/norm, 1/clip)``), ``use_ema``/``ema_momentum``/``ema_overwrite_frequency``
(:class:`fastoptim.EMA`), ``loss_scale_factor``, ``gradient_accumulation_steps``. ``name`` is
accepted and kept as ``.name``. fastoptim's own ``nonfinite=`` and ``clip_norm=`` pass
through.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Union

import numpy as np

from . import optim as _optim
from .optim.base import ParamsT

__all__ = ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adamax", "Nadam", "Adadelta", "Lion"]

LearningRate = Union[float, Callable[[int], Any]]

# Keras's base-optimizer arguments we do not implement: their defaults, and what to use.
_UNSUPPORTED: dict[str, tuple[Any, str]] = {
    "clipnorm": (None, "per-variable norm clipping is not implemented; clip_norm= clips the "
                       "global norm (torch's clip_grad_norm_ formula)"),
    "clipvalue": (None, "clip the grads before step() with fastoptim.clip_grad_value_"),
    "global_clipnorm": (None, "pass clip_norm= instead: torch's clip_grad_norm_ coefficient "
                              "max_norm / (norm + 1e-6), clamped to 1, where Keras scales by "
                              "clip * min(1 / norm, 1 / clip)"),
    "use_ema": (False, "keep an average with fastoptim.EMA(params, decay=ema_momentum)"),
    "ema_momentum": (0.99, "keep an average with fastoptim.EMA(params, decay=ema_momentum)"),
    "ema_overwrite_frequency": (None, "use fastoptim.EMA's copy_to()"),
    "loss_scale_factor": (None, "divide the grads by the loss scale before step()"),
    "gradient_accumulation_steps": (None, "accumulate the grads yourself and step every n"),
}
_PASSED = ("nonfinite", "clip_norm")


def _lr(learning_rate: LearningRate, floatx: str) -> Any:
    """Keras's learning rate: a constant rounded to ``floatx``, or a schedule ``count -> lr``
    (its value converted with float(), so a 0-d array works too)."""
    if callable(learning_rate):
        schedule = learning_rate
        return lambda count: float(schedule(count))
    if floatx not in ("float32", "float64"):
        raise ValueError(f"floatx must be 'float32' or 'float64', got {floatx!r}")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real):
        raise TypeError(f"learning_rate must be a float or a schedule count -> lr, got "
                        f"{type(learning_rate).__name__}")
    return float(np.dtype(floatx).type(learning_rate))


def _common(learning_rate: LearningRate, weight_decay: float | None, floatx: str,
            extra: dict[str, Any], decoupled: bool = True) -> dict[str, Any]:
    """fastoptim options for Keras's base-optimizer arguments (``extra``: the rest of the
    keyword arguments, checked here)."""
    extra = dict(extra)
    extra.pop("name", None)
    for key, (default, instead) in _UNSUPPORTED.items():
        value = extra.pop(key, default)
        if value != default:
            raise ValueError(f"fastoptim.keras: {key}={value!r} is not supported; {instead}")
    passed = {k: extra.pop(k) for k in _PASSED if k in extra}
    if extra:
        raise TypeError(f"fastoptim.keras: argument(s) not recognized: {sorted(extra)}")
    options = dict(lr=_lr(learning_rate, floatx),
                   weight_decay=0.0 if weight_decay is None else weight_decay, **passed)
    if decoupled:
        options["decoupled_weight_decay"] = True
    return options


class SGD(_optim.SGD):
    """``keras.optimizers.SGD``: ``velocity = momentum * velocity - lr * g; w += velocity``
    (Nesterov: ``w += momentum * velocity - lr * g``), without momentum ``w -= lr * g``.

    ``fastoptim.SGD`` with ``lr_in_momentum=True`` and decoupled ``weight_decay``; ``nesterov``
    only acts with momentum, as in Keras. See the module docstring for the arguments every
    Keras optimizer takes.
    """

    def __init__(self, params: ParamsT, learning_rate: LearningRate = 0.01,
                 momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float | None = None, *, floatx: str = "float32",
                 **kwargs: Any) -> None:
        self.name = kwargs.get("name")
        super().__init__(params, momentum=momentum, nesterov=bool(nesterov and momentum),
                         lr_in_momentum=True, **_common(learning_rate, weight_decay, floatx,
                                                        kwargs))


class RMSprop(_optim.RMSprop):
    """``keras.optimizers.RMSprop``: ``velocity = rho * velocity + (1 - rho) * g**2``,
    ``increment = lr * g / sqrt(velocity + epsilon)`` (centered: ``sqrt(velocity -
    average_grad**2 + epsilon)``), momentum ``m = momentum * m + increment; w -= m``.

    ``fastoptim.RMSprop`` with ``alpha=rho``, ``eps_in_sqrt=True``, ``lr_in_momentum=True``
    and decoupled ``weight_decay``.
    """

    def __init__(self, params: ParamsT, learning_rate: LearningRate = 0.001, rho: float = 0.9,
                 momentum: float = 0.0, epsilon: float = 1e-7, centered: bool = False,
                 weight_decay: float | None = None, *, floatx: str = "float32",
                 **kwargs: Any) -> None:
        self.name = kwargs.get("name")
        super().__init__(params, alpha=rho, eps=epsilon, momentum=momentum, centered=centered,
                         eps_in_sqrt=True, lr_in_momentum=True,
                         **_common(learning_rate, weight_decay, floatx, kwargs))


class Adam(_optim.Adam):
    """``keras.optimizers.Adam``: ``alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)``,
    ``w -= alpha * m / (sqrt(v) + epsilon)`` — epsilon is the paper's "epsilon hat" — with
    AMSGrad's max of the raw v.

    ``fastoptim.Adam`` with ``eps_hat=True`` and decoupled ``weight_decay``.
    """

    def __init__(self, params: ParamsT, learning_rate: LearningRate = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, weight_decay: float | None = None, *,
                 floatx: str = "float32", **kwargs: Any) -> None:
        self.name = kwargs.get("name")
        super().__init__(params, betas=(beta_1, beta_2), eps=epsilon, amsgrad=amsgrad,
                         eps_hat=True, **_common(learning_rate, weight_decay, floatx, kwargs))


class AdamW(_optim.Adam):
    """``keras.optimizers.AdamW``: Keras's Adam (epsilon hat) with ``w -= w * weight_decay *
    lr`` before each update (default weight_decay 0.004; None is refused, as Keras does).

    ``fastoptim.Adam`` with ``eps_hat=True`` and ``decoupled_weight_decay=True``.
    """

    def __init__(self, params: ParamsT, learning_rate: LearningRate = 0.001,
                 weight_decay: float = 0.004, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, *, floatx: str = "float32",
                 **kwargs: Any) -> None:
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")
        self.name = kwargs.get("name")
        super().__init__(params, betas=(beta_1, beta_2), eps=epsilon, amsgrad=amsgrad,
                         eps_hat=True, **_common(learning_rate, weight_decay, floatx, kwargs))


class Adagrad(_optim.Adagrad):
    """``keras.optimizers.Adagrad``: ``acc += g**2; w -= lr * g / sqrt(acc + epsilon)``,
    the accumulator starting at ``initial_accumulator_value`` (0.1).

    ``fastoptim.Adagrad`` with ``eps_in_sqrt=True`` and decoupled ``weight_decay``.
    """

    def __init__(self, params: ParamsT, learning_rate: LearningRate = 0.001,
                 initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 weight_decay: float | None = None, *, floatx: str = "float32",
                 **kwargs: Any) -> None:
        self.name = kwargs.get("name")
        super().__init__(params, initial_accumulator_value=initial_accumulator_value,
                         eps=epsilon, eps_in_sqrt=True,
                         **_common(learning_rate, weight_decay, floatx, kwargs))


class Adamax(_optim.Adamax):
    """``keras.optimizers.Adamax``: ``u = max(beta_2 * u, |g|)``,
    ``w -= lr * m / ((1 - beta_1^t) * (u + epsilon))`` (epsilon outside the max).

    ``fastoptim.Adamax`` with ``eps_in_max=False`` and decoupled ``weight_decay``.
    """

    def __init__(self, params: ParamsT, learning_rate: LearningRate = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: float | None = None, *, floatx: str = "float32",
                 **kwargs: Any) -> None:
        self.name = kwargs.get("name")
        super().__init__(params, betas=(beta_1, beta_2), eps=epsilon, eps_in_max=False,
                         **_common(learning_rate, weight_decay, floatx, kwargs))


class Nadam(_optim.NAdam):
    """``keras.optimizers.Nadam``: torch's NAdam formula with the momentum schedule
    ``u_t = beta_1 * (1 - 0.5 * 0.96^t)`` (torch: 0.96^(0.004 t)).

    ``fastoptim.NAdam`` with ``momentum_decay=1.0`` and decoupled ``weight_decay``.
    """

    def __init__(self, params: ParamsT, learning_rate: LearningRate = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: float | None = None, *, floatx: str = "float32",
                 **kwargs: Any) -> None:
        self.name = kwargs.get("name")
        super().__init__(params, betas=(beta_1, beta_2), eps=epsilon, momentum_decay=1.0,
                         **_common(learning_rate, weight_decay, floatx, kwargs))


class Adadelta(_optim.Adadelta):
    """``keras.optimizers.Adadelta``: Zeiler's update scaled by ``learning_rate`` (default
    0.001, rho 0.95, epsilon 1e-7 inside both square roots), torch's formula.

    ``fastoptim.Adadelta`` with decoupled ``weight_decay``.
    """

    def __init__(self, params: ParamsT, learning_rate: LearningRate = 0.001, rho: float = 0.95,
                 epsilon: float = 1e-7, weight_decay: float | None = None, *,
                 floatx: str = "float32", **kwargs: Any) -> None:
        self.name = kwargs.get("name")
        super().__init__(params, rho=rho, eps=epsilon,
                         **_common(learning_rate, weight_decay, floatx, kwargs))


class Lion(_optim.Lion):
    """``keras.optimizers.Lion``: ``w -= lr * sign(beta_1 * m + (1 - beta_1) * g)``,
    ``m = beta_2 * m + (1 - beta_2) * g`` (default lr 0.001; beta_1 in (0, 1], as Keras
    checks, here (0, 1)).

    ``fastoptim.Lion`` (its weight decay is Keras's decoupled one).
    """

    def __init__(self, params: ParamsT, learning_rate: LearningRate = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.99,
                 weight_decay: float | None = None, *, floatx: str = "float32",
                 **kwargs: Any) -> None:
        if isinstance(beta_1, numbers.Real) and beta_1 <= 0:
            raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the "
                             f"optimizer degenerates to SignSGD. Received: beta_1={beta_1}.")
        self.name = kwargs.get("name")
        super().__init__(params, betas=(beta_1, beta_2),
                         **_common(learning_rate, weight_decay, floatx, kwargs,
                                   decoupled=False))
