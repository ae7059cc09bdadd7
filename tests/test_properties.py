"""Property tests (hypothesis): random shapes, memory orders, dtypes, hyperparameters in range
and gradient scales from 1e-8 to 1e3 — native == reference, bit for bit, on a random ISA and
thread count."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import fastoptim as fo
from conftest import ISAS, THREADS, running_on

shapes = st.lists(st.integers(0, 40), min_size=0, max_size=3).map(tuple)
unit = st.floats(0.0, 0.999)
scale = st.sampled_from([1e-8, 1e-5, 1e-2, 1.0, 1e3])

OPTIONS = {
    "SGD": st.fixed_dictionaries({
        "lr": st.floats(0.0, 1.0), "momentum": unit, "weight_decay": st.floats(0.0, 0.1),
        "maximize": st.booleans(),
    }).flatmap(lambda d: st.just(d) if d["momentum"] == 0 else st.sampled_from([
        {**d, "nesterov": True}, {**d, "dampening": 0.5}, d])),
    "Adam": st.fixed_dictionaries({
        "lr": st.floats(0.0, 1.0), "betas": st.tuples(unit, unit),
        "eps": st.sampled_from([0.0, 1e-12, 1e-8, 1e-3]), "weight_decay": st.floats(0.0, 0.1),
        "amsgrad": st.booleans(), "maximize": st.booleans(),
        "decoupled_weight_decay": st.booleans(),
    }),
}


@settings(max_examples=60, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(OPTIONS)), n_params=st.integers(1, 4),
       dtype=st.sampled_from([np.float32, np.float64]), fortran=st.booleans(),
       isa=st.sampled_from(ISAS), threads=st.sampled_from(THREADS), g_scale=scale,
       seed=st.integers(0, 2**32 - 1))
def test_native_equals_reference(data, name, n_params, dtype, fortran, isa, threads, g_scale,
                                 seed):
    options = data.draw(OPTIONS[name])
    rng = np.random.default_rng(seed)
    order = "F" if fortran else "C"
    shp = [data.draw(shapes) for _ in range(n_params)]
    init = [np.asarray(rng.standard_normal(s), dtype=dtype, order=order) for s in shp]
    grads = [[np.asarray(rng.standard_normal(s) * g_scale, dtype=dtype, order=order)
              for s in shp] for _ in range(3)]
    ours = [p.copy(order="K") for p in init]
    ref = [p.copy(order="K") for p in init]
    opt = getattr(fo, name)(ours, **options)
    ref_opt = getattr(fo.reference, name)(ref, **options)
    with running_on(isa, threads), np.errstate(all="ignore"):
        for gs in grads:
            opt.step(gs)
            ref_opt.step(gs)
    for a, b in zip(ours, ref):
        assert np.array_equal(a, b, equal_nan=True)
