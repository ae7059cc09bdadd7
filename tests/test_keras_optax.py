"""fastoptim.keras and fastoptim.optax: Keras 3's and optax's argument names, defaults and
formulas. Against the NumPy transcriptions of their sources (tests/formulas.py) in float64 at
gradient scales 1 and 1e-5, and against the real libraries where installed (optax; keras with
the jax backend), in float64 and float32."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest

import fastoptim as fo
import formulas as F
from formulas import displacement_error, problem, run

RTOL = 1e-10   # float64 displacement, as tests/test_conventions.py
ATOL32 = 2e-5  # float32 params O(1), a few ulp (6e-8) per step over 20 steps, as torch parity


# Keras's and optax's own argument names; lrs not exact in float32 (Keras rounds them).
KERAS = [
    ("SGD", dict(learning_rate=0.01)),
    ("SGD", dict(learning_rate=0.01, momentum=0.9)),
    ("SGD", dict(learning_rate=0.01, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("RMSprop", dict()),
    ("RMSprop", dict(learning_rate=0.01, rho=0.8, momentum=0.9, centered=True,
                     weight_decay=0.01)),
    ("Adam", dict()),
    ("Adam", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.99, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(learning_rate=0.01)),
    ("Adagrad", dict(learning_rate=0.1)),
    ("Adamax", dict(learning_rate=0.01, weight_decay=0.01)),
    ("Nadam", dict(learning_rate=0.01)),
    ("Adadelta", dict(learning_rate=1.0)),
    ("Lion", dict(learning_rate=0.01, weight_decay=0.1)),
]
OPTAX = [
    ("sgd", dict(learning_rate=0.1)),
    ("sgd", dict(learning_rate=0.1, momentum=0.9, nesterov=True)),
    ("adam", dict(learning_rate=0.01)),
    ("adam", dict(learning_rate=0.01, b1=0.8, b2=0.99, eps_root=1e-10)),
    ("adamw", dict(learning_rate=0.01)),
    ("nadam", dict(learning_rate=0.01, eps_root=1e-10)),
    ("amsgrad", dict(learning_rate=0.01)),
    ("amsgrad", dict(learning_rate=0.01, bias_correction_nu=False)),
    ("adamax", dict(learning_rate=0.01)),
    ("rmsprop", dict(learning_rate=0.01)),
    ("rmsprop", dict(learning_rate=0.01, centered=True, momentum=0.9, initial_scale=0.1)),
    ("rmsprop", dict(learning_rate=0.01, eps_in_sqrt=False, momentum=0.5)),
    ("adagrad", dict(learning_rate=0.1)),
    ("adadelta", dict(learning_rate=1.0, weight_decay=0.1)),
    ("lion", dict(learning_rate=0.01)),
]
KERAS_IDS = [f"{n}-{sorted(k.items())}" for n, k in KERAS]
OPTAX_IDS = [f"{n}-{sorted(k.items())}" for n, k in OPTAX]


@pytest.mark.parametrize("scale", [1.0, 1e-5])
@pytest.mark.parametrize("library, name, kwargs",
                         [("keras", *c) for c in KERAS] + [("optax", *c) for c in OPTAX],
                         ids=[f"keras-{i}" for i in KERAS_IDS] + [f"optax-{i}" for i in OPTAX_IDS])
def test_matches_the_library_formula(library, name, kwargs, scale):
    init, grads = problem(scale)
    ours = run(getattr(getattr(fo, library), name), kwargs, init, grads)
    theirs = getattr(F, f"{library}_{name.lower()}")(init, grads, **kwargs)
    assert displacement_error(ours, theirs, init) < RTOL


def test_the_wrappers_are_the_core_classes():
    p = [np.zeros(3)]
    assert isinstance(fo.keras.Adam(p), fo.Adam) and isinstance(fo.keras.Nadam(p), fo.NAdam)
    assert fo.keras.Adam(p).param_groups[0]["eps_hat"] is True
    assert type(fo.optax.adam(p, 1e-3)) is fo.Adam
    assert type(fo.optax.nadam(p, 1e-3)) is fo.NAdam
    assert type(fo.optax.adam(p, 1e-3, nesterov=True)) is fo.NAdam
    # Keras's and optax's defaults
    assert fo.keras.AdamW(p).param_groups[0]["weight_decay"] == 0.004
    assert fo.keras.Adagrad(p).param_groups[0]["initial_accumulator_value"] == 0.1
    assert fo.keras.RMSprop(p).param_groups[0]["alpha"] == 0.9
    assert fo.optax.adamw(p, 1e-3).param_groups[0]["weight_decay"] == 1e-4
    assert fo.optax.lion(p, 1e-3).param_groups[0]["weight_decay"] == 1e-3
    assert fo.optax.adagrad(p, 1e-3).param_groups[0]["initial_accumulator_value"] == 0.1


def test_keras_learning_rate_is_float32():
    """Keras keeps a constant learning_rate in a float32 variable; floatx='float64' for a Keras
    configured so. The rounding is visible in float64 (the transcription rounds too)."""
    p = [np.zeros(3)]
    assert fo.keras.SGD(p, learning_rate=1e-3).param_groups[0]["lr"] == float(np.float32(1e-3))
    assert fo.keras.SGD(p, learning_rate=1e-3, floatx="float64").param_groups[0]["lr"] == 1e-3
    init, grads = problem(1.0)
    exact = run(fo.keras.SGD, dict(learning_rate=0.01, floatx="float64"), init, grads)
    assert displacement_error(exact, F.keras_sgd(init, grads, learning_rate=0.01), init) > 1e-9
    with pytest.raises(ValueError, match="floatx"):
        fo.keras.Adam(p, floatx="float16")


def test_schedules_take_the_steps_already_taken():
    def schedule(count):
        return 0.01 * 0.9**count

    init, grads = problem(1.0)
    for name, make in (("adam", fo.optax.adam), ("sgd", fo.optax.sgd)):
        theirs = getattr(F, f"optax_{name}")(init, grads, learning_rate=schedule)
        assert displacement_error(run(make, dict(learning_rate=schedule), init, grads), theirs,
                                  init) < RTOL
    # a schedule returning a 0-d array (as optax's and Keras's schedules do) works too
    ours = run(fo.keras.SGD, dict(learning_rate=lambda c: np.asarray(schedule(c)),
                                  momentum=0.9), init, grads)
    theirs = run(fo.SGD, dict(lr=schedule, momentum=0.9, lr_in_momentum=True), init, grads)
    assert all(np.array_equal(a, b) for a, b in zip(ours, theirs))


@pytest.mark.parametrize("kwargs, match", [
    (dict(clipnorm=1.0), "clipnorm"),
    (dict(clipvalue=1.0), "clip_grad_value_"),
    (dict(global_clipnorm=1.0), "clip_norm="),
    (dict(use_ema=True), "EMA"),
    (dict(loss_scale_factor=2.0), "loss_scale_factor"),
    (dict(gradient_accumulation_steps=2), "gradient_accumulation_steps"),
])
def test_keras_unsupported_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fo.keras.Adam([np.zeros(3)], **kwargs)


def test_keras_arguments():
    p = [np.zeros(3)]
    with pytest.raises(TypeError, match="not recognized"):
        fo.keras.Adam(p, betas=(0.9, 0.99))
    with pytest.raises(ValueError, match="weight_decay"):
        fo.keras.AdamW(p, weight_decay=None)
    with pytest.raises(ValueError, match="beta_1"):
        fo.keras.Lion(p, beta_1=0.0)
    # defaults of the unsupported arguments, name, and fastoptim's own options are accepted
    opt = fo.keras.Adam(p, use_ema=False, ema_momentum=0.99, clipnorm=None, name="adam",
                        clip_norm=1.0, nonfinite="skip")
    assert opt.name == "adam" and opt.clip_norm == 1.0 and opt.nonfinite == "skip"


def test_optax_unsupported_arguments_are_refused():
    p = [np.zeros(3)]
    with pytest.raises(ValueError, match="mu_dtype"):
        fo.optax.adam(p, 1e-3, mu_dtype="bfloat16")
    with pytest.raises(ValueError, match="accumulator_dtype"):
        fo.optax.sgd(p, 1e-3, momentum=0.9, accumulator_dtype="float16")
    with pytest.raises(ValueError, match="nesterov"):
        fo.optax.rmsprop(p, 1e-3, momentum=0.9, nesterov=True)
    with pytest.raises(ValueError, match="bias_correction"):
        fo.optax.rmsprop(p, 1e-3, bias_correction=True)
    with pytest.raises(ValueError, match="ascent"):
        fo.optax.adadelta(p)


def test_optax_weight_decay_mask():
    """mask: False keeps a param out of the weight decay (a param group of its own, the
    params' order kept), for a list, a dict and a callable."""
    init, grads = problem(1.0)
    decayed = run(fo.optax.adamw, dict(learning_rate=0.01, weight_decay=0.5), init, grads)
    plain = run(fo.optax.adam, dict(learning_rate=0.01), init, grads)
    masked = run(fo.optax.adamw, dict(learning_rate=0.01, weight_decay=0.5,
                                      mask=[False, True, False]), init, grads)
    assert [np.array_equal(a, b) for a, b in zip(masked, (plain[0], decayed[1], plain[2]))] == [
        True] * 3
    names = ("w", "b", "c")
    named = {k: p.copy() for k, p in zip(names, init)}
    opt = fo.optax.adamw(named, 0.01, weight_decay=0.5,
                         mask=lambda ps: {k: v.ndim > 1 for k, v in ps.items()})
    for gs in grads:
        opt.step(dict(zip(names, gs)))
    assert np.array_equal(named["w"], decayed[0]) and np.array_equal(named["b"], plain[1])
    with pytest.raises(ValueError, match="mask"):
        fo.optax.lion(init, 0.01, mask=[True])


# ------------------------------------------------------------- the real libraries
@pytest.fixture(scope="module")
def jax():
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "jax"  # before keras is imported
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        jax = pytest.importorskip("jax")
        jax.config.update("jax_enable_x64", True)
    return jax


@pytest.fixture(scope="module")
def keras(jax):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("keras was imported with another backend")
    return keras


@pytest.fixture(scope="module")
def optax(jax):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("optax")


def assert_parity(ours, theirs, init, dtype):
    if dtype == np.float64:
        assert displacement_error(ours, theirs, init) < RTOL
    else:
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=0, atol=ATOL32)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, kwargs", KERAS, ids=KERAS_IDS)
def test_keras_parity(keras, name, kwargs, dtype):
    init, grads = problem(1e-5 if dtype == np.float64 else 1.0, dtype)
    variables = [keras.Variable(p.copy(), dtype=np.dtype(dtype).name) for p in init]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = getattr(keras.optimizers, name)(**kwargs)
        for gs in grads:
            opt.apply([keras.ops.convert_to_tensor(g) for g in gs], variables)
    theirs = [np.asarray(v.value) for v in variables]
    assert_parity(run(getattr(fo.keras, name), kwargs, init, grads), theirs, init, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, kwargs", OPTAX, ids=OPTAX_IDS)
def test_optax_parity(jax, optax, name, kwargs, dtype):
    init, grads = problem(1e-5 if dtype == np.float64 else 1.0, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tx = getattr(optax, name)(**kwargs)
        params = [jax.numpy.asarray(p) for p in init]
        state = tx.init(params)
        for gs in grads:
            updates, state = tx.update([jax.numpy.asarray(g) for g in gs], state, params)
            params = optax.apply_updates(params, updates)
    theirs = [np.asarray(p) for p in params]
    assert_parity(run(getattr(fo.optax, name), kwargs, init, grads), theirs, init, dtype)
