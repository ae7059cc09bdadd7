"""fastoptim.functional: one function per kernel on explicit arrays and a step count, computing
the classes' bits (the same coefficient functions), with the classes' validation."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import fastoptim as fo
import fastoptim.functional as FN
from conftest import ISAS, running_on

# (function name, options): every kernel, with flags and the new conventions' options.
CASES = [
    ("sgd", dict(lr=0.1)),
    ("sgd", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.1)),
    ("sgd", dict(lr=0.1, momentum=0.9, nesterov=True, lr_in_momentum=True, maximize=True)),
    ("adam", dict()),
    ("adam", dict(amsgrad=True, weight_decay=0.1, betas=(0.3, 0.9))),
    ("adam", dict(eps_hat=True, amsgrad=True, amsgrad_max="corrected", eps_root=1e-6)),
    ("adam", dict(bias_correction=False, decoupled_weight_decay=True, weight_decay=0.1)),
    ("adamw", dict()),
    ("adamw", dict(amsgrad=True, maximize=True)),
    ("adagrad", dict(lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("adagrad", dict(eps_in_sqrt=True, initial_accumulator_value=0.1,
                     decoupled_weight_decay=True, weight_decay=0.1)),
    ("rmsprop", dict()),
    ("rmsprop", dict(centered=True, momentum=0.9, weight_decay=0.1)),
    ("rmsprop", dict(centered=True, momentum=0.9, lr_in_momentum=True, eps_in_sqrt=True,
                     initial_square_avg=0.1)),
    ("adamax", dict(weight_decay=0.1, maximize=True)),
    ("adamax", dict(eps_in_max=False, decoupled_weight_decay=True, weight_decay=0.1)),
    ("nadam", dict()),
    ("nadam", dict(momentum_decay=1.0, decoupled_weight_decay=True, weight_decay=0.1)),
    ("nadam", dict(momentum_schedule=False, eps_root=1e-6)),
    ("radam", dict()),
    ("radam", dict(betas=(0.9, 0.99), decoupled_weight_decay=True, weight_decay=0.1)),
    ("adadelta", dict(weight_decay=0.1)),
    ("adadelta", dict(decoupled_weight_decay=True, weight_decay=0.1, maximize=True)),
    ("lion", dict(lr=0.01, weight_decay=0.1)),
]
STEPS = 8  # RAdam rectifies from step 6 with beta2 = 0.99


def init_and_grads(dtype, seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(n).astype(dtype) for n in (1, 17, 1001)]
    grads = [[rng.standard_normal(p.shape).astype(dtype) for p in init] for _ in range(STEPS)]
    return init, grads


def with_class(name, options, init, grads):
    params = [p.copy() for p in init]
    opt = FN.CLASSES[name](params, **options)
    for gs in grads:
        opt.step(gs)
    return params, opt


def with_function(name, options, init, grads):
    """The functional loop a user writes: state from init_state, the step count, and NAdam's
    mu_product carried from call to call."""
    params = [p.copy() for p in init]
    state = FN.init_state(name, params, **options)
    fn = getattr(FN, f"{name}_")
    carry = {}
    for t, gs in enumerate(grads, start=1):
        out = fn(params, gs, **state, step=t, **carry, **options)
        if name == "nadam":
            carry = {"mu_product": out}
    return params, state


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_functional_equals_class_bitwise(name, options, dtype):
    init, grads = init_and_grads(dtype)
    expected, opt = with_class(name, options, init, grads)
    for isa in (ISAS[0], ISAS[-1]):
        with running_on(isa, 2):
            params, state = with_function(name, options, init, grads)
        for i, (p, q) in enumerate(zip(params, expected)):
            assert np.array_equal(p, q), (isa, i)
            for key, bufs in state.items():
                assert np.array_equal(bufs[i], opt.state[q][key]), (isa, i, key)


def test_single_arrays_and_a_schedule():
    """One array instead of lists; lr as a schedule, called with step - 1 as by the classes."""
    init, grads = init_and_grads(np.float64)
    p = init[1].copy()
    m, v = np.zeros_like(p), np.zeros_like(p)

    def schedule(count):
        return 0.1 / (1 + count)

    expected, _ = with_class("adam", dict(lr=schedule), [init[1]], [[gs[1]] for gs in grads])
    for t, gs in enumerate(grads, start=1):
        assert FN.adam_(p, gs[1], m, v, step=t, lr=schedule) is None
    assert np.array_equal(p, expected[0])
    state = FN.init_state("adagrad", p, initial_accumulator_value=0.5)
    assert set(state) == {"sum"} and np.all(state["sum"] == 0.5) and state["sum"].shape == p.shape


def test_nadam_returns_its_momentum_product():
    p, g = np.zeros(3), np.ones(3)
    m, v = np.zeros(3), np.zeros(3)
    mu1 = 0.9 * (1 - 0.5 * 0.96**0.004)
    assert FN.nadam_(p, g, m, v, step=1) == mu1
    with pytest.raises(ValueError, match="mu_product"):
        FN.nadam_(p, g, m, v, step=2)
    # without the schedule the product is beta1^t: nothing to carry
    assert FN.nadam_(p, g, m, v, step=2, momentum_schedule=False) == 0.9**2


def test_errors_are_the_classes():
    p, g = np.zeros(3), np.ones(3)
    m, v = np.zeros(3), np.zeros(3)
    with pytest.raises(ValueError, match="options: lr must be finite and >= 0"):
        FN.adam_(p, g, m, v, step=1, lr=-1.0)
    with pytest.raises(TypeError, match=r"options: betas must be a pair"):
        FN.adam_(p, g, m, v, step=1, betas=0.9)
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['momentum'\] for Adam"):
        FN.adam_(p, g, m, v, step=1, momentum=0.9)
    with pytest.raises(ValueError, match="nesterov requires momentum"):
        FN.sgd_(p, g, step=1, nesterov=True)
    with pytest.raises(ValueError, match="'max_exp_avg_sq' of param params\\[0\\] is missing"):
        FN.adam_(p, g, m, v, step=1, amsgrad=True)
    with pytest.raises(ValueError, match="'momentum_buffer' of param params\\[0\\] is missing"):
        FN.sgd_(p, g, step=1, momentum=0.9)
    with pytest.raises(TypeError, match="grad of param params\\[0\\]: dtype float32"):
        FN.adam_(p, g.astype(np.float32), m, v, step=1)
    with pytest.raises(ValueError, match="shape"):
        FN.adam_(p, g, np.zeros(4), v, step=1)
    with pytest.raises(ValueError, match="share memory"):
        FN.adam_(p, g, m, m, step=1)
    with pytest.raises(ValueError, match="step must be >= 1"):
        FN.adam_(p, g, m, v, step=0)
    with pytest.raises(TypeError, match="step must be an int"):
        FN.adam_(p, g, m, v, step=1.0)
    with pytest.raises(ValueError, match="state 'exp_avg' of param params\\[0\\] is missing"):
        FN.adam_(p, g, None, v, step=1)
    with pytest.raises(TypeError, match="exp_avg must be an array"):
        FN.adam_(p, g, 0.0, v, step=1)
    with pytest.raises(ValueError, match="unknown optimizer"):
        FN.init_state("adamx", p)
    # nothing was written by any refused call
    assert not p.any() and not m.any() and not v.any()


def test_signatures_show_the_class_options():
    for name, cls in FN.CLASSES.items():
        sig = inspect.signature(getattr(FN, f"{name}_"))
        assert sig.parameters["step"].kind is inspect.Parameter.KEYWORD_ONLY
        for key, value in cls([np.zeros(1)]).defaults.items():
            assert sig.parameters[key].default == value, (name, key)
    assert set(FN.__all__) == {f"{n}_" for n in FN.CLASSES} | {"init_state"}


def test_the_classes_use_the_same_coefficient_functions():
    """The class's _coefficients is the function the functional call uses (NAdam: a method
    that calls it with the group's product)."""
    from fastoptim.optim import adam, adamax, rmsprop, sgd

    assert fo.Adam._coefficients is adam.adam_coefficients
    assert fo.AdamW._coefficients is adam.adam_coefficients
    assert fo.SGD._coefficients is sgd.sgd_coefficients
    assert fo.RMSprop._coefficients is rmsprop.rmsprop_coefficients
    assert fo.Adamax._coefficients is adamax.adamax_coefficients
