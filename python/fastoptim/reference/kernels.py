"""The NumPy reference kernels: the same per-element operations, in the same order and the
same dtype, as ``cpp/kernels/*.hpp`` — side by side, one function per kernel file.

Each takes ``c`` (the kernel's coefficients by name, float64 as the optimizer computed them),
the param, the grad and the state buffers (``None`` when absent), and updates them in place.
Every coefficient is cast once to the working dtype (``T(c[...])``), as the C++ kernels do, and
every NumPy operation here is one IEEE-754 operation in that dtype, so the result has the same
bits as the native kernels on every ISA.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sgd", "adam", "adagrad", "rmsprop", "adamax", "nadam", "radam", "adadelta", "lion",
           "ema", "ceiling"]


# ------------------------------------------------------------ shared pieces (common.hpp)
def _grad(c, param, grad):
    """sign * grad, plus the L2 term weight_decay * param when weight_decay != 0."""
    T = param.dtype.type
    g = grad * T(c["sign"])
    if c["weight_decay"] != 0:
        g = g + T(c["weight_decay"]) * param
    return g


def _lerp(c, start, end):
    """start[...] = torch's lerp(start, end, lerp_w) (fo_lerp)."""
    T = start.dtype.type
    if c["lerp_flip"] != 0:
        start[...] = end - (end - start) * T(c["one_minus_lerp_w"])
    else:
        start[...] = start + T(c["lerp_w"]) * (end - start)


def _moments(c, param, grad, exp_avg, exp_avg_sq):
    """fo_moments::step: decoupled decay of param (in place), the (L2) gradient, m and v.
    Returns the gradient."""
    T = param.dtype.type
    if c["decay"] != 1.0:
        param[...] = param * T(c["decay"])
    g = _grad(c, param, grad)
    _lerp(c, exp_avg, g)
    exp_avg_sq[...] = exp_avg_sq * T(c["beta2"]) + (T(c["one_minus_beta2"]) * g) * g
    return g


def _sign(x):
    """fo_sign: -1, 0 or +1, and 0 for NaN (np.sign gives NaN there)."""
    T = x.dtype.type
    return (x > 0).astype(T) - (x < 0).astype(T)


# ------------------------------------------------------------------ the kernels
def sgd(c, param, grad, momentum_buffer):
    """cpp/kernels/sgd.hpp."""
    T = param.dtype.type
    g = _grad(c, param, grad)
    if c["momentum"] != 0:
        mom = T(c["momentum"])
        if c["init_buffer"] != 0:
            momentum_buffer[...] = g
        else:
            momentum_buffer[...] = momentum_buffer * mom + T(c["one_minus_dampening"]) * g
        g = g + mom * momentum_buffer if c["nesterov"] != 0 else momentum_buffer
    param[...] = param * T(c["decay"]) + T(c["neg_lr"]) * g


def adam(c, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq):
    """cpp/kernels/adam.hpp."""
    T = param.dtype.type
    _moments(c, param, grad, exp_avg, exp_avg_sq)
    v = exp_avg_sq
    if c["amsgrad"] != 0:
        np.maximum(max_exp_avg_sq, exp_avg_sq / T(c["amsgrad_bc2"]), out=max_exp_avg_sq)
        v = max_exp_avg_sq
    denom = np.sqrt(v + T(c["eps_root"])) / T(c["bc2_sqrt"]) + T(c["eps"])
    param[...] = param + (T(c["neg_step_size"]) * exp_avg) / denom


def adagrad(c, param, grad, state_sum):
    """cpp/kernels/adagrad.hpp."""
    T = param.dtype.type
    g = _grad(c, param, grad)
    state_sum[...] = state_sum + g * g
    denom = np.sqrt(state_sum + T(c["eps_root"])) + T(c["eps"])
    param[...] = param * T(c["decay"]) + (T(c["neg_clr"]) * g) / denom


def rmsprop(c, param, grad, square_avg, momentum_buffer, grad_avg):
    """cpp/kernels/rmsprop.hpp."""
    T = param.dtype.type
    g = _grad(c, param, grad)
    square_avg[...] = square_avg * T(c["alpha"]) + (T(c["one_minus_alpha"]) * g) * g
    eps_root, eps = T(c["eps_root"]), T(c["eps"])
    if c["centered"] != 0:
        _lerp(c, grad_avg, g)
        avg = np.sqrt((square_avg - grad_avg * grad_avg) + eps_root) + eps
    else:
        avg = np.sqrt(square_avg + eps_root) + eps
    decayed = param * T(c["decay"])
    if c["momentum"] != 0:
        momentum_buffer[...] = momentum_buffer * T(c["momentum"]) + (T(c["buffer_lr"]) * g) / avg
        param[...] = decayed + T(c["neg_lr"]) * momentum_buffer
    else:
        param[...] = decayed + (T(c["neg_lr"]) * g) / avg


def adamax(c, param, grad, exp_avg, exp_inf):
    """cpp/kernels/adamax.hpp."""
    T = param.dtype.type
    g = _grad(c, param, grad)
    _lerp(c, exp_avg, g)
    np.maximum(exp_inf * T(c["beta2"]), np.abs(g) + T(c["eps"]), out=exp_inf)
    param[...] = param * T(c["decay"]) + (T(c["neg_clr"]) * exp_avg) / (exp_inf + T(c["eps_out"]))


def nadam(c, param, grad, exp_avg, exp_avg_sq):
    """cpp/kernels/nadam.hpp."""
    T = param.dtype.type
    g = _moments(c, param, grad, exp_avg, exp_avg_sq)
    denom = np.sqrt(exp_avg_sq / T(c["bias_correction2"]) + T(c["eps_root"])) + T(c["eps"])
    param[...] = param + (T(c["grad_coef"]) * g) / denom
    param[...] = param + (T(c["exp_avg_coef"]) * exp_avg) / denom


def radam(c, param, grad, exp_avg, exp_avg_sq):
    """cpp/kernels/radam.hpp."""
    T = param.dtype.type
    _moments(c, param, grad, exp_avg, exp_avg_sq)
    u = (exp_avg / T(c["bias_correction1"])) * T(c["lr"])
    if c["rectify"] != 0:
        adaptive = (T(1) / (np.sqrt(exp_avg_sq) + T(c["eps"]))) * T(c["bc2_sqrt"])
        u = (u * adaptive) * T(c["rect"])
    param[...] = param - u


def adadelta(c, param, grad, square_avg, acc_delta):
    """cpp/kernels/adadelta.hpp."""
    T = param.dtype.type
    g = _grad(c, param, grad)
    rho, one_minus_rho, eps = T(c["rho"]), T(c["one_minus_rho"]), T(c["eps"])
    square_avg[...] = square_avg * rho + (one_minus_rho * g) * g
    delta = (np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps)) * g
    acc_delta[...] = acc_delta * rho + (one_minus_rho * delta) * delta
    param[...] = param * T(c["decay"]) + T(c["neg_lr"]) * delta


def lion(c, param, grad, exp_avg):
    """cpp/kernels/lion.hpp."""
    T = param.dtype.type
    g = grad * T(c["sign"])
    update = T(c["beta1"]) * exp_avg + T(c["one_minus_beta1"]) * g
    param[...] = param * T(c["decay"]) + T(c["neg_lr"]) * _sign(update)
    exp_avg[...] = T(c["beta2"]) * exp_avg + T(c["one_minus_beta2"]) * g


def ema(c, average, param):
    """cpp/kernels/ema.hpp."""
    _lerp(c, average, param)


def ceiling(c, param, grad, s1, s2, s3):
    """cpp/kernels/ceiling.hpp (the benchmark's same-traffic kernel)."""
    for x in (param, s1, s2, s3):
        if x is not None:
            x[...] = x + grad
