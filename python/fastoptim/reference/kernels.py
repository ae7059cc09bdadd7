"""The NumPy reference kernels: the same per-element operations, in the same order and the
same dtype, as cpp/kernels/*.hpp — side by side, one function per kernel file.

Each takes ``c`` (the kernel's coefficients by name, float64 as the optimizer computed them),
the param, the grad and the state buffers (``None`` when absent), and updates them in place.
Every coefficient is cast once to the working dtype (``T(c[...])``), as the C++ kernels do, and
every NumPy operation here is one IEEE-754 operation in that dtype, so the result has the same
bits as the native kernels on every ISA.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sgd", "adam", "ceiling"]


def sgd(c, param, grad, momentum_buffer):
    """cpp/kernels/sgd.hpp."""
    T = param.dtype.type
    g = grad * T(c["sign"])
    if c["weight_decay"] != 0:
        g = g + T(c["weight_decay"]) * param
    if c["momentum"] != 0:
        mom = T(c["momentum"])
        if c["init_buffer"] != 0:
            momentum_buffer[...] = g
        else:
            momentum_buffer[...] = momentum_buffer * mom + T(c["one_minus_dampening"]) * g
        g = g + mom * momentum_buffer if c["nesterov"] != 0 else momentum_buffer
    param[...] = param + T(c["neg_lr"]) * g


def adam(c, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq):
    """cpp/kernels/adam.hpp."""
    T = param.dtype.type
    g = grad * T(c["sign"])
    if c["decay"] != 1.0:
        param[...] = param * T(c["decay"])
    if c["weight_decay"] != 0:
        g = g + T(c["weight_decay"]) * param
    if c["lerp_flip"] != 0:
        exp_avg[...] = g - (g - exp_avg) * T(c["one_minus_lerp_w"])
    else:
        exp_avg[...] = exp_avg + T(c["lerp_w"]) * (g - exp_avg)
    exp_avg_sq[...] = exp_avg_sq * T(c["beta2"]) + (T(c["one_minus_beta2"]) * g) * g
    v = exp_avg_sq
    if c["amsgrad"] != 0:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    denom = np.sqrt(v) / T(c["bc2_sqrt"]) + T(c["eps"])
    param[...] = param + (T(c["neg_step_size"]) * exp_avg) / denom


def ceiling(c, param, grad, s1, s2, s3):
    """cpp/kernels/ceiling.hpp (the benchmark's same-traffic kernel)."""
    for x in (param, s1, s2, s3):
        if x is not None:
            x[...] = x + grad
