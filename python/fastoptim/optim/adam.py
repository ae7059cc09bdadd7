"""Adam and AdamW: torch.optim.Adam / torch.optim.AdamW, and the other libraries' forms."""

from __future__ import annotations

from typing import Any, Callable, Union

from .. import _native
from .base import LR, Optimizer, ParamsT
from .coefficients import grad_parts, lerp_coefficients

__all__ = ["Adam", "AdamW", "adam_coefficients", "adam_row", "bias_corrections"]

BiasCorrection = Union[bool, tuple[bool, bool]]


def bias_corrections(
    bias_correction: BiasCorrection, beta1: float, beta2: float, step: int
) -> tuple[float, float]:
    """``(1 - beta1^t, 1 - beta2^t)`` in float64, each replaced by 1 where ``bias_correction``
    (a bool, or a pair (first moment, second moment)) turns it off."""
    first, second = (bias_correction if isinstance(bias_correction, tuple)
                     else (bias_correction, bias_correction))
    return (1.0 - beta1**step if first else 1.0), (1.0 - beta2**step if second else 1.0)


def adam_coefficients(
    options: dict[str, Any], lr: float, step: int, fresh: bool = False
) -> dict[str, float]:
    """The adam kernel's coefficients (cpp/kernels/adam.hpp) for the ``step``-th step, in
    float64: shared by :class:`Adam`/:class:`AdamW` and :func:`fastoptim.functional.adam_`.

    With V the second moment the max tracks (v, or v / (1 - beta2^t) for
    ``amsgrad_max="corrected"``) the kernel computes sqrt(V + eps_root') / bc2_sqrt' + eps;
    each convention is a choice of these scalars (x / 1 and x + 0 are exact)."""
    return dict(zip(_NAMES, adam_row(options)(lr, step)))


_NAMES: tuple[str, ...] = tuple(_native.kernel_specs["adam"][1])
# adam_row returns its tuple in this order (cpp/kernels/adam.hpp's coefficient list)
assert _NAMES == ("sign", "decay", "weight_decay", "lerp_w", "one_minus_lerp_w", "lerp_flip",
                  "beta2", "one_minus_beta2", "amsgrad", "amsgrad_bc2", "eps_root", "bc2_sqrt",
                  "eps", "neg_step_size"), _NAMES


def adam_row(options: dict[str, Any]) -> Callable[[float, int], tuple[float, ...]]:
    """:func:`adam_coefficients` as a row in kernel order, built once per option set: the
    returned ``row(lr, step)`` computes only what changes with lr and the step."""
    beta1, beta2 = (float(b) for b in options["betas"])
    bc = options["bias_correction"]
    first, second = bc if isinstance(bc, tuple) else (bc, bc)
    eps_root = float(options["eps_root"])
    corrected = bool(options["amsgrad"]) and options["amsgrad_max"] == "corrected"
    eps_hat = bool(options["eps_hat"])
    fixed, rate = grad_parts(options)
    sign, wd = fixed["sign"], fixed["weight_decay"]
    lerp = lerp_coefficients(1.0 - beta1)
    lw, olw, flip = lerp["lerp_w"], lerp["one_minus_lerp_w"], lerp["lerp_flip"]
    omb2, ams, eps = 1.0 - beta2, float(bool(options["amsgrad"])), float(options["eps"])

    if first and second and not eps_hat and not corrected and rate == 0.0:
        # torch's Adam as most users run it, the same values in fewer operations
        # (1 - lr * 0 is exactly 1 for a finite lr)
        def row(lr: float, step: int) -> tuple[float, ...]:
            bc2 = 1.0 - beta2**step
            return (sign, 1.0, wd, lw, olw, flip, beta2, omb2, ams, 1.0, eps_root * bc2,
                    bc2**0.5, eps, -(lr / (1.0 - beta1**step)))

        return row

    def row(lr: float, step: int) -> tuple[float, ...]:
        bc1 = 1.0 - beta1**step if first else 1.0
        bc2 = 1.0 - beta2**step if second else 1.0
        if eps_hat:
            # TF/Keras: alpha_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t), eps added to
            # sqrt(v): sqrt(bc2 * V + eps_root) = sqrt(V + eps_root / bc2) * sqrt(bc2) for
            # the corrected max.
            step_size = lr * bc2**0.5 / bc1
            scale, root = (1.0 / bc2**0.5, eps_root / bc2) if corrected else (1.0, eps_root)
        else:
            # torch, optax: sqrt(v / bc2 + eps_root) + eps = sqrt(v + eps_root * bc2) / sqrt(bc2).
            step_size = lr / bc1
            scale, root = (1.0, eps_root) if corrected else (bc2**0.5, eps_root * bc2)
        return (sign, 1.0 - lr * rate, wd, lw, olw, flip, beta2, omb2, ams,
                bc2 if corrected else 1.0, root, scale, eps, -step_size)

    return row


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015) — ``torch.optim.Adam``, the same formula and operation order,
    with options for the other libraries' forms of it.

    For each param at step :math:`t` (1-based), with :math:`g` its gradient (negated if
    ``maximize``)::

        p     = p * (1 - lr * weight_decay)             (decoupled_weight_decay: AdamW)
        g     = g + weight_decay * p                    (otherwise, if weight_decay != 0: L2)
        m     = m + (1 - beta1) * (g - m)               (torch's lerp)
        v     = beta2 * v + (1 - beta2) * g * g
        v'    = max(v'_prev, v) if amsgrad else v       (max of the raw v, as torch)
        denom = sqrt(v' / (1 - beta2^t) + eps_root) + eps
        p     = p - lr / (1 - beta1^t) * m / denom

    epsilon is added after dividing sqrt(v) by sqrt(1 - beta2^t), as torch and optax do. The
    bias corrections are computed in float64 from the integer step count each step; the kernel
    computes the denominator as sqrt(v' + eps_root * (1 - beta2^t)) / sqrt(1 - beta2^t) + eps
    (with eps_root = 0, torch's operations exactly).

    Other libraries' Adam (keyword-only options; the defaults are torch's):

    - ``eps_hat=True``: TF/Keras ("epsilon hat", the formula before Section 2.1 of the paper):
      ``p -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v') + eps)``. Differs from
      torch's placement when sqrt(v) is comparable to eps (tiny gradients). Keras's default
      eps is 1e-7.
    - ``eps_root``: optax's ``eps_root`` (default 0), added to the bias-corrected v' inside the
      square root (with ``eps_hat``: to v' itself).
    - ``amsgrad_max="corrected"``: optax's AMSGrad, the max of v / (1 - beta2^t) instead of the
      max of the raw v (torch, Keras: ``"raw"``); ``max_exp_avg_sq`` then holds the
      bias-corrected max, and ``denom = sqrt(v' + eps_root) + eps``.
    - ``bias_correction=False``: neither moment is bias-corrected (the Adam paper's Section 6.4
      ablation): ``p -= lr * m / (sqrt(v' + eps_root) + eps)``; a pair ``(first, second)``
      chooses each (optax.amsgrad's ``bias_correction_mu``/``bias_correction_nu``).

    ``fastoptim.keras.Adam`` and ``fastoptim.optax.adam`` set these for you.

    State (torch's names): ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (amsgrad).

    Args:
        params: arrays (list, dict name -> array, or param groups).
        lr: learning rate (default 1e-3), or a schedule ``count -> lr``.
        betas: (beta1, beta2), each in [0, 1) (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0); decoupled if ``decoupled_weight_decay``.
        amsgrad: AMSGrad (Reddi et al. 2018).
        maximize: maximize the objective.
        decoupled_weight_decay: AdamW's decay (Loshchilov & Hutter 2019), as torch's flag.
        eps_hat: epsilon added to the uncorrected sqrt(v) (TF/Keras); default False (torch,
            optax).
        eps_root: added inside the square root (optax); default 0.
        amsgrad_max: ``"raw"`` (torch, Keras) or ``"corrected"`` (optax).
        bias_correction: True (default), False, or a pair (first moment, second moment).
    """

    _kernel = "adam"
    # AMSGrad's running max stays float32: re-quantized per block it could decrease (a block's
    # scale follows its current values), which breaks the max's monotonicity.
    _state_codes = {"exp_avg": "signed", "exp_avg_sq": "unsigned",
                    "max_exp_avg_sq": "float32"}

    def __init__(
        self,
        params: ParamsT,
        lr: LR = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
        eps_hat: bool = False,
        eps_root: float = 0.0,
        amsgrad_max: str = "raw",
        bias_correction: BiasCorrection = True,
        nonfinite: str = "propagate",
        clip_norm: float | None = None,
        **precision: Any,
    ) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay, eps_hat=eps_hat,
                        eps_root=eps_root, amsgrad_max=amsgrad_max,
                        bias_correction=bias_correction)
        super().__init__(params, defaults, nonfinite=nonfinite, clip_norm=clip_norm,
                         **precision)

    def _state_layout(self, group: dict[str, Any]) -> tuple[str, ...]:
        if group["amsgrad"]:
            return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
        return ("exp_avg", "exp_avg_sq")

    _coefficients = staticmethod(adam_coefficients)

    def _row_maker(self, gi: int, group: dict[str, Any]) -> Callable[[float, int], tuple]:
        return adam_row(group)


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter 2019) — ``torch.optim.AdamW``: Adam with decoupled weight
    decay ``p = p * (1 - lr * weight_decay)`` before the update (default weight_decay 1e-2).

    See :class:`Adam` for the formula and the other arguments (the keyword-only options
    ``eps_hat``, ``eps_root``, ``amsgrad_max``, ``bias_correction`` are passed through).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: LR = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad,
                         decoupled_weight_decay=True, **options)
