"""Coefficient helpers shared by the optimizers: the pieces every kernel's coefficient row has
(gradient sign and weight decay, epsilon placement, torch's lerp), in float64."""

from __future__ import annotations

from typing import Any

__all__ = ["grad_coefficients", "grad_parts", "eps_coefficients", "lerp_coefficients"]


def grad_coefficients(
    group: dict[str, Any], lr: float, decoupled: bool | None = None
) -> dict[str, float]:
    """The coefficients every kernel applies to the gradient first: ``sign`` (-1 when
    maximizing) and the weight decay, either decoupled (``decay = 1 - lr * weight_decay``,
    ``p *= decay``, AdamW-style) or L2 (``weight_decay``, ``g += weight_decay * p``), the unused
    one neutral (1 or 0). ``decoupled`` defaults to the group's ``decoupled_weight_decay``
    option (False where it has none). Kernels ignore the entries they do not name."""
    fixed, rate = grad_parts(group, decoupled)
    return {**fixed, "decay": 1.0 - lr * rate}


def grad_parts(group: dict[str, Any], decoupled: bool | None = None) -> tuple[dict, float]:
    """:func:`grad_coefficients` in two parts, for rows built once per option set: the entries
    that do not depend on lr, and the rate ``r`` of ``decay = 1 - lr * r`` (the decoupled
    weight decay, or 0: then decay is exactly 1, since lr is finite)."""
    sign = -1.0 if group["maximize"] else 1.0
    wd = float(group["weight_decay"])
    if decoupled is None:
        decoupled = bool(group.get("decoupled_weight_decay", False))
    if decoupled:
        return {"sign": sign, "weight_decay": 0.0}, wd
    return {"sign": sign, "weight_decay": wd}, 0.0


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
