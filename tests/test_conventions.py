"""Other libraries' formulas as options of the core classes (eps_hat, eps_root, amsgrad_max,
bias_correction, eps_in_sqrt, eps_in_max, lr_in_momentum, initial_square_avg,
momentum_schedule, decoupled weight decay everywhere): each against an independent NumPy
transcription of Keras's or optax's source (tests/formulas.py), in float64, with gradients at
scale 1 and 1e-5 (where epsilon's placement shows); the torch form differs from the other
library's by far more than the tolerance; native == reference bit for bit for every option;
validation of the new options."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastoptim as fo
import formulas as F
from conftest import assert_native_matches_reference
from formulas import displacement_error, problem, run
from test_family import assert_extreme_values_match

SCALES = (1.0, 1e-5)
# Tolerance on the displacement p - p0 in float64: the transcriptions round in their own
# operation order (a few ulp per step, 20 steps: < 1e-12 relative); a convention error shows
# at 1e-3 and more with the 1e-5 gradients (see test_torch_form_differs_from_the_others).
RTOL = 1e-10
# lrs that float32 holds exactly, so Keras's float32 learning rate does not enter here.
LR = 2.0**-7


# (our class, our options, the transcription, its arguments)
CASES = [
    # Keras: epsilon hat; AMSGrad's max of the raw v; decoupled weight decay before the update
    ("Adam", dict(lr=LR, eps=1e-7, eps_hat=True), F.keras_adam,
     dict(learning_rate=LR)),
    ("Adam", dict(lr=LR, eps=1e-7, eps_hat=True, amsgrad=True, weight_decay=0.1,
                  decoupled_weight_decay=True), F.keras_adam,
     dict(learning_rate=LR, amsgrad=True, weight_decay=0.1)),
    # optax: eps_root inside the sqrt, AMSGrad's max of v-hat, per-moment bias corrections
    ("Adam", dict(lr=LR, eps_root=1e-10), F.optax_adam, dict(learning_rate=LR, eps_root=1e-10)),
    ("Adam", dict(lr=LR, weight_decay=0.1, decoupled_weight_decay=True), F.optax_adamw,
     dict(learning_rate=LR, weight_decay=0.1)),
    ("Adam", dict(lr=LR, amsgrad=True, amsgrad_max="corrected", eps_root=1e-10),
     F.optax_amsgrad, dict(learning_rate=LR, eps_root=1e-10)),
    ("Adam", dict(lr=LR, amsgrad=True, amsgrad_max="corrected", bias_correction=(False, True)),
     F.optax_amsgrad, dict(learning_rate=LR, bias_correction_mu=False)),
    ("Adam", dict(lr=LR, amsgrad=True, amsgrad_max="corrected", bias_correction=False),
     F.optax_amsgrad, dict(learning_rate=LR, bias_correction_mu=False, bias_correction_nu=False)),
    # Keras: the lr inside the momentum buffer; decoupled weight decay
    ("SGD", dict(lr=LR, momentum=0.9, lr_in_momentum=True), F.keras_sgd,
     dict(learning_rate=LR, momentum=0.9)),
    ("SGD", dict(lr=LR, momentum=0.9, nesterov=True, lr_in_momentum=True, weight_decay=0.1,
                 decoupled_weight_decay=True), F.keras_sgd,
     dict(learning_rate=LR, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=LR, momentum=0.9, nesterov=True), F.optax_sgd,
     dict(learning_rate=LR, momentum=0.9, nesterov=True)),
    # Keras, optax: epsilon inside the sqrt, lr inside the momentum buffer, initial scale
    ("RMSprop", dict(lr=LR, alpha=0.9, eps=1e-7, eps_in_sqrt=True), F.keras_rmsprop,
     dict(learning_rate=LR)),
    ("RMSprop", dict(lr=LR, alpha=0.9, eps=1e-7, eps_in_sqrt=True, centered=True, momentum=0.9,
                     lr_in_momentum=True, weight_decay=0.1, decoupled_weight_decay=True),
     F.keras_rmsprop, dict(learning_rate=LR, centered=True, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", dict(lr=LR, alpha=0.9, eps_in_sqrt=True, centered=True, momentum=0.5,
                     lr_in_momentum=True, initial_square_avg=0.1), F.optax_rmsprop,
     dict(learning_rate=LR, centered=True, momentum=0.5, initial_scale=0.1)),
    ("RMSprop", dict(lr=LR, alpha=0.9), F.optax_rmsprop, dict(learning_rate=LR,
                                                              eps_in_sqrt=False)),
    # Keras, optax: epsilon inside the sqrt, accumulator from 0.1
    ("Adagrad", dict(lr=LR, eps=1e-7, eps_in_sqrt=True, initial_accumulator_value=0.1,
                     weight_decay=0.1, decoupled_weight_decay=True), F.keras_adagrad,
     dict(learning_rate=LR, weight_decay=0.1)),
    ("Adagrad", dict(lr=LR, eps=1e-7, eps_in_sqrt=True, initial_accumulator_value=0.1),
     F.optax_adagrad, dict(learning_rate=LR)),
    # Keras: epsilon outside the max
    ("Adamax", dict(lr=LR, eps=1e-7, eps_in_max=False, weight_decay=0.1,
                    decoupled_weight_decay=True), F.keras_adamax,
     dict(learning_rate=LR, weight_decay=0.1)),
    ("Adamax", dict(lr=LR), F.optax_adamax, dict(learning_rate=LR)),
    # Keras: mu_t = beta1 (1 - 0.5 * 0.96^t); optax: no schedule (Adam with Nesterov momentum)
    ("NAdam", dict(lr=LR, eps=1e-7, momentum_decay=1.0), F.keras_nadam, dict(learning_rate=LR)),
    ("NAdam", dict(lr=LR, momentum_schedule=False, eps_root=1e-10), F.optax_nadam,
     dict(learning_rate=LR, eps_root=1e-10)),
    ("NAdam", dict(lr=LR, momentum_schedule=False, weight_decay=0.1,
                   decoupled_weight_decay=True), F.optax_adamw,
     dict(learning_rate=LR, weight_decay=0.1, nesterov=True)),
    ("Adadelta", dict(lr=LR, rho=0.95, eps=1e-7, weight_decay=0.1, decoupled_weight_decay=True),
     F.keras_adadelta, dict(learning_rate=LR, weight_decay=0.1)),
    ("Adadelta", dict(lr=1.0, weight_decay=0.1), F.optax_adadelta,
     dict(learning_rate=1.0, weight_decay=0.1)),
    ("Lion", dict(lr=LR, weight_decay=0.1), F.keras_lion, dict(learning_rate=LR,
                                                               weight_decay=0.1)),
    ("Lion", dict(lr=LR, weight_decay=0.1), F.optax_lion, dict(learning_rate=LR,
                                                               weight_decay=0.1)),
]
IDS = [f"{c[0]}-{c[2].__name__}-{sorted(c[1])}" for c in CASES]


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name, options, formula, kwargs", CASES, ids=IDS)
def test_option_matches_the_library_formula(name, options, formula, kwargs, scale):
    init, grads = problem(scale)
    theirs = formula(init, grads, **kwargs)
    assert displacement_error(run(getattr(fo, name), options, init, grads), theirs,
                              init) < RTOL


def test_adam_without_bias_correction_is_the_papers_ablation():
    """bias_correction=False: p -= lr * m / (sqrt(v) + eps) (Kingma & Ba, Section 6.4)."""
    init, grads = problem(1e-5)
    expected = [p.copy() for p in init]
    m = [np.zeros_like(p) for p in init]
    v = [np.zeros_like(p) for p in init]
    for gs in grads:
        for i, g in enumerate(gs):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            expected[i] = expected[i] - LR * m[i] / (np.sqrt(v[i]) + 1e-8)
    result = run(fo.Adam, dict(lr=LR, bias_correction=False), init, grads)
    assert displacement_error(result, expected, init) < RTOL
    # eps_hat changes nothing without the bias corrections
    assert displacement_error(run(fo.Adam, dict(lr=LR, bias_correction=False, eps_hat=True),
                                   init, grads), expected, init) < RTOL


# (torch's form, the other library's form): they differ by a million times RTOL at scale 1e-5
# (the first three only there: epsilon's placement), the lr placement under a schedule.
def _halving(count):
    return LR * 0.5 ** count


DIFFERENT = [
    ("Adam", dict(lr=LR, eps=1e-7), dict(eps_hat=True)),
    ("RMSprop", dict(lr=LR, eps=1e-7), dict(eps_in_sqrt=True)),
    ("Adagrad", dict(lr=LR, eps=1e-7), dict(eps_in_sqrt=True)),
    ("Adagrad", dict(lr=LR, eps=1e-7), dict(initial_accumulator_value=0.1)),
    ("Adamax", dict(lr=LR, eps=1e-7), dict(eps_in_max=False)),
    ("NAdam", dict(lr=LR), dict(momentum_decay=1.0)),
    ("NAdam", dict(lr=LR), dict(momentum_schedule=False)),
    ("Adam", dict(lr=LR, amsgrad=True), dict(amsgrad_max="corrected")),
    ("Adam", dict(lr=LR, eps_root=1e-10), dict(eps_root=0.0)),
    ("SGD", dict(lr=_halving, momentum=0.9), dict(lr_in_momentum=True)),
    ("RMSprop", dict(lr=_halving, momentum=0.9), dict(lr_in_momentum=True)),
    ("RMSprop", dict(lr=LR), dict(initial_square_avg=0.1)),
    ("Adam", dict(lr=LR, weight_decay=0.5), dict(decoupled_weight_decay=True)),
    ("SGD", dict(lr=LR, momentum=0.9, weight_decay=0.5), dict(decoupled_weight_decay=True)),
]


@pytest.mark.parametrize("name, base, other", DIFFERENT,
                         ids=[f"{n}-{sorted(o)}" for n, _, o in DIFFERENT])
def test_torch_form_differs_from_the_others(name, base, other):
    init, grads = problem(1e-5)
    cls = getattr(fo, name)
    a, b = run(cls, base, init, grads), run(cls, {**base, **other}, init, grads)
    assert displacement_error(a, b, init) > 1e6 * RTOL


def test_keras_and_torch_adam_are_told_apart_at_1e_5():
    """The reason for the 1e-5 gradients: with unit gradients epsilon hat and torch's epsilon
    move the params within 1e-3 of each other (relative); with 1e-5 gradients, eps = 1e-7 is
    comparable to sqrt(v) and they differ by more than 100%."""
    for scale, low, high in ((1.0, 0.0, 1e-3), (1e-5, 1.0, math.inf)):
        init, grads = problem(scale)
        torch_form = run(fo.Adam, dict(lr=LR, eps=1e-7), init, grads)
        keras_form = F.keras_adam(init, grads, learning_rate=LR)
        assert low <= displacement_error(torch_form, keras_form, init) < high, scale


def test_lr_in_momentum_is_the_same_trajectory_for_a_constant_lr():
    init, grads = problem(1.0)
    for name in ("SGD", "RMSprop"):
        cls = getattr(fo, name)
        a = run(cls, dict(lr=LR, momentum=0.9), init, grads)
        b = run(cls, dict(lr=LR, momentum=0.9, lr_in_momentum=True), init, grads)
        assert displacement_error(a, b, init) < RTOL, name


# ------------------------------------------------------------------ native == reference
BITWISE = [
    ("Adam", dict(eps_hat=True)),
    ("Adam", dict(eps_hat=True, amsgrad=True, amsgrad_max="corrected", eps_root=1e-3)),
    ("Adam", dict(amsgrad=True, amsgrad_max="corrected", eps_root=1e-3, weight_decay=0.1)),
    ("Adam", dict(eps_root=1e-3, betas=(0.3, 0.9), decoupled_weight_decay=True,
                  weight_decay=0.1, maximize=True)),
    ("Adam", dict(bias_correction=False, amsgrad=True)),
    ("Adam", dict(amsgrad=True, eps_root=1e-3, eps=0.0)),
    ("Adam", dict(bias_correction=(True, False), amsgrad=True, amsgrad_max="corrected")),
    ("SGD", dict(lr=0.1, momentum=0.9, lr_in_momentum=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, lr_in_momentum=True, weight_decay=0.1,
                 decoupled_weight_decay=True, maximize=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RMSprop", dict(eps_in_sqrt=True, initial_square_avg=0.5, weight_decay=0.1,
                     decoupled_weight_decay=True)),
    ("RMSprop", dict(eps_in_sqrt=True, centered=True, momentum=0.9, lr_in_momentum=True,
                     alpha=0.3)),
    ("RMSprop", dict(centered=True, momentum=0.5, lr_in_momentum=True, maximize=True)),
    ("Adagrad", dict(eps_in_sqrt=True, initial_accumulator_value=0.1, weight_decay=0.1,
                     decoupled_weight_decay=True)),
    ("Adamax", dict(eps_in_max=False, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adamax", dict(eps_in_max=False, betas=(0.3, 0.5), weight_decay=0.1, maximize=True)),
    ("NAdam", dict(momentum_schedule=False, eps_root=1e-3)),
    ("NAdam", dict(momentum_decay=1.0, eps_root=1e-3, weight_decay=0.1)),
    ("Adadelta", dict(weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]


@pytest.mark.parametrize("name, options", BITWISE, ids=[f"{n}-{o}" for n, o in BITWISE])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_native_equals_reference_bitwise(name, options, dtype):
    assert_native_matches_reference(name, options, dtype, steps=4, scale=1e-3)


@pytest.mark.parametrize("name, options", [
    ("Adam", dict(eps_hat=True, amsgrad=True, amsgrad_max="corrected", eps_root=1e-3)),
    ("Adam", dict(amsgrad=True, eps_root=1e-3, bias_correction=(False, True))),
    ("SGD", dict(momentum=0.9, nesterov=True, lr_in_momentum=True, decoupled_weight_decay=True)),
    ("RMSprop", dict(momentum=0.9, centered=True, eps_in_sqrt=True, lr_in_momentum=True,
                     decoupled_weight_decay=True)),
    ("Adagrad", dict(eps_in_sqrt=True, decoupled_weight_decay=True)),
    ("Adamax", dict(eps_in_max=False, decoupled_weight_decay=True)),
    ("NAdam", dict(momentum_schedule=False, eps_root=1e-3)),
    ("Adadelta", dict(decoupled_weight_decay=True)),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nonfinite_and_extreme_values_give_the_same_bits(name, options, dtype):
    """test_family's check of inf, NaN, huge, tiny and subnormal values, with the options."""
    assert_extreme_values_match(name, dict(lr=0.1, weight_decay=0.1, **options), dtype)


def test_torch_defaults_keep_their_bits():
    """The new coefficients are neutral by default (x / 1, x + 0, x * 1 are exact): an explicit
    torch form gives the bits of the default one."""
    init, grads = problem(1e-3)
    explicit = {
        "Adam": dict(eps_hat=False, eps_root=0.0, amsgrad_max="raw", bias_correction=True,
                     amsgrad=True),
        "SGD": dict(momentum=0.9, lr_in_momentum=False, decoupled_weight_decay=False),
        "RMSprop": dict(momentum=0.9, eps_in_sqrt=False, lr_in_momentum=False,
                        initial_square_avg=0.0),
        "Adagrad": dict(eps_in_sqrt=False, decoupled_weight_decay=False),
        "Adamax": dict(eps_in_max=True),
        "NAdam": dict(momentum_schedule=True, eps_root=0.0),
    }
    for name, options in explicit.items():
        cls = getattr(fo, name)
        base = {k: v for k, v in options.items() if k in ("amsgrad", "momentum")}
        a, b = run(cls, base, init, grads), run(cls, options, init, grads)
        assert all(np.array_equal(x, y) for x, y in zip(a, b)), name


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize("name, options, error", [
    ("Adam", dict(eps_root=-1.0), ValueError),
    ("Adam", dict(eps_hat=1), TypeError),
    ("Adam", dict(amsgrad_max="max"), ValueError),
    ("Adam", dict(bias_correction=(True,)), TypeError),
    ("Adam", dict(bias_correction=(True, 1)), TypeError),
    ("SGD", dict(lr_in_momentum="yes"), TypeError),
    ("RMSprop", dict(initial_square_avg=-0.1), ValueError),
    ("RMSprop", dict(eps_in_sqrt=None), TypeError),
    ("Adagrad", dict(eps_in_sqrt=0), TypeError),
    ("Adamax", dict(eps_in_max="no"), TypeError),
    ("NAdam", dict(momentum_schedule=None), TypeError),
    ("NAdam", dict(eps_root=math.nan), ValueError),
])
def test_new_options_are_validated(name, options, error):
    with pytest.raises(error, match=f"param_groups\\[0\\]: {next(iter(options))}"):
        getattr(fo, name)([np.zeros(3)], **options)
    # and per param group, when changed before a step
    opt = getattr(fo, name)([np.zeros(3)])
    opt.param_groups[0].update(options)
    with pytest.raises(error):
        opt.step([np.ones(3)])


def test_bias_correction_pair_is_stored_as_a_tuple():
    opt = fo.Adam([np.zeros(3)], bias_correction=[True, False])
    assert opt.param_groups[0]["bias_correction"] == (True, False)


def test_rmsprop_initial_square_avg_is_the_starting_state():
    p = np.zeros(3)
    opt = fo.RMSprop([p], initial_square_avg=0.25, alpha=0.5)
    opt.step([np.zeros(3)])
    np.testing.assert_array_equal(opt.state[p]["square_avg"], 0.125)
