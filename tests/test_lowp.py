"""Low precision (issue 11): float16/bfloat16 params and grads, master weights, bfloat16 and int8
state, stochastic rounding — native == NumPy reference bit for bit on every ISA and thread
count, conversions == NumPy/ml_dtypes, masters == the float32 optimizer, state dicts and
checkpoints keep the stored bits, errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import fastoptim as fo
from conftest import ISAS, running_on
from fastoptim.lowp import Quantized
from fastoptim.lowp import rounding as R
from fastoptim.reference import storage as S

ml_dtypes = pytest.importorskip("ml_dtypes")
BF16 = np.dtype(ml_dtypes.bfloat16)
F16 = np.dtype(np.float16)

NAMES = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam", "Adadelta",
         "Lion"]
OPTIONS = {"SGD": dict(lr=0.01, momentum=0.9, nesterov=True), "Adam": dict(amsgrad=True),
           "RMSprop": dict(momentum=0.5, centered=True), "Adagrad": dict(lr_decay=0.01)}

# sizes across quantization blocks and staged chunks (both 256 elements: 255 and 257 straddle
# one, 2100 and 60001 end in a partial one) and thread splits; 2-D in Fortran order too
SHAPES = [(1,), (255,), (257,), (3, 700), (60_001,)]


def _bits(a) -> np.ndarray:
    if isinstance(a, Quantized):
        return np.concatenate([a.codes.view(np.uint8).ravel(order="K"),
                               a.scales.view(np.uint8)])
    return np.ascontiguousarray(a).view(np.uint8).ravel()


def _values(rng, shape, dtype, order="C", special=False):
    x = rng.standard_normal(shape).astype(np.float32)
    if special:
        flat = x.reshape(-1)
        vals = [0.0, -0.0, 1e-42, -3e-39, 6e-8, 1e-5, 65519.0, 70000.0]
        flat[: min(len(vals), flat.size)] = vals[: flat.size]
    with np.errstate(over="ignore"):  # 70000 overflows float16 to inf on purpose
        return np.asarray(x.astype(dtype), order=order)


def _make(cls_name, backend, dtype, precision, shapes=SHAPES, order="C", grad_dtype=None,
          steps=3, special=False, seed=1):
    rng = np.random.default_rng(seed)
    params = [_values(rng, s, dtype, order if len(s) > 1 else "C", special) for s in shapes]
    grads = [[_values(rng, p.shape, grad_dtype or dtype, order if p.ndim > 1 else "C",
                      special) for p in params] for _ in range(steps)]
    cls = getattr(fo.reference if backend == "reference" else fo, cls_name)
    opt = cls(params, **OPTIONS.get(cls_name, {}), **precision)
    return params, grads, opt


def _run(cls_name, backend, dtype, precision, isa=None, threads=1, **kw):
    params, grads, opt = _make(cls_name, backend, dtype, precision, **kw)
    with running_on(isa or fo.isa(), threads), np.errstate(all="ignore"):
        for g in grads:
            opt.step(g)
    return params, opt


def _assert_same(a, b, what):
    (pa, oa), (pb, ob) = a, b
    for i, (x, y) in enumerate(zip(pa, pb)):
        assert np.array_equal(_bits(x), _bits(y)), (what, "param", i)
        sa, sb = oa.state[x], ob.state[y]
        assert sa.keys() == sb.keys(), (what, i)
        for k in sa:
            if k == "step":
                assert sa[k] == sb[k]
            else:
                assert np.array_equal(_bits(sa[k]), _bits(sb[k])), (what, i, k)


CONFIGS = [
    ("f16 params", F16, {}, None),
    ("bf16 params", BF16, {}, None),
    ("bf16 + master, bf16 grads", BF16, dict(master_weights=True), None),
    ("f16 + master, f32 grads", F16, dict(master_weights=True), np.float32),
    ("bf16 stochastic", BF16, dict(rounding="stochastic", seed=7), None),
    ("f16 stochastic", F16, dict(rounding="stochastic", seed=3), None),
    ("f32, bf16 state", np.float32, dict(state_dtype="bfloat16"), None),
    ("f32, bf16 state stochastic", np.float32, dict(state_dtype="bfloat16",
                                                    rounding="stochastic"), None),
    ("f32, int8 state", np.float32, dict(state_dtype="int8"), None),
    ("f32, int8 state stochastic", np.float32, dict(state_dtype="int8", rounding="stochastic",
                                                    seed=5), None),
    ("f32 params, bf16 grads", np.float32, {}, BF16),
    ("bf16 + master, int8 state", BF16, dict(master_weights=True, state_dtype="int8"), None),
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("what, dtype, precision, grad_dtype", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_native_matches_reference_every_isa_and_thread_count(name, what, dtype, precision,
                                                             grad_dtype):
    expected = _run(name, "reference", dtype, precision, grad_dtype=grad_dtype, order="F")
    for isa in ISAS:
        for threads in (1, 2):
            got = _run(name, "native", dtype, precision, isa, threads, grad_dtype=grad_dtype,
                       order="F")
            _assert_same(got, expected, (what, isa, threads))


@pytest.mark.parametrize("what, dtype, precision", [
    ("bf16 params", BF16, {}), ("f16 stochastic", F16, dict(rounding="stochastic")),
    ("int8 state", np.float32, dict(state_dtype="int8")),
    ("f16 master", F16, dict(master_weights=True))])
def test_special_values_native_matches_reference(what, dtype, precision):
    # subnormals, +-0, values that overflow float16, and grads that drive state to inf/NaN
    kw = dict(shapes=[(300,)], special=True, steps=4)
    expected = _run("Adam", "reference", dtype, precision, **kw)
    for isa in ISAS:
        _assert_same(_run("Adam", "native", dtype, precision, isa, 1, **kw), expected, what)
    p = np.array([1.0, -2.0, 0.5], dtype)
    opt = fo.Adam([p], lr=1.0, **precision)
    with np.errstate(all="ignore"):
        opt.step([np.array([np.inf, np.nan, 1.0], np.float32 if precision.get(
            "master_weights") else dtype)])
    ref = np.array([1.0, -2.0, 0.5], dtype)
    ropt = fo.reference.Adam([ref], lr=1.0, **precision)
    with np.errstate(all="ignore"):
        ropt.step([np.array([np.inf, np.nan, 1.0], np.float32 if precision.get(
            "master_weights") else dtype)])
    assert np.array_equal(_bits(p), _bits(ref))
    assert np.isnan(np.asarray(p, np.float32)[:2]).all()


# --------------------------------------------------------------------------- conversions
def _all_f32_near_16bit(dtype) -> np.ndarray:
    """Every 16-bit value, its neighbours' midpoints and one float32 ulp either side."""
    h = np.arange(2**16, dtype=np.uint32).astype(np.uint16)
    v = h.view(dtype).astype(np.float32)
    v = v[np.isfinite(v)]
    v = np.sort(v)
    mids = ((v[1:].astype(np.float64) + v[:-1]) / 2).astype(np.float32)
    u = mids.view(np.uint32)
    extra = np.array([np.inf, -np.inf, np.nan, -np.nan, 3.4e38, -3.4e38, 1e-45, 65520.0,
                      65519.99], np.float32)
    return np.concatenate([v, mids, (u + 1).view(np.float32), (u - 1).view(np.float32), extra])


@pytest.mark.parametrize("dtype", [F16, BF16], ids=["float16", "bfloat16"])
def test_round_to_nearest_matches_numpy_and_ml_dtypes(dtype):
    x = _all_f32_near_16bit(dtype)
    with np.errstate(all="ignore"):
        want = x.astype(dtype).view(np.uint16)
    ref = (S.f32_to_f16 if dtype == F16 else S.f32_to_bf16)(x)
    nan = np.isnan(x)
    # NaN: any NaN of the right sign is NumPy's/ml_dtypes' answer; ours is pinned by the reference
    assert np.array_equal(ref[~nan], want[~nan])
    assert np.isnan(ref[nan].view(dtype).astype(np.float32)).all()
    for isa in ISAS:
        with running_on(isa, 1):
            out = np.zeros(x.shape, dtype)
            fo._native.encode(x, out)
            assert np.array_equal(out.view(np.uint16), ref), isa
            back = fo._native.decode(out)
            assert np.array_equal(back.view(np.uint32),
                                  out.astype(np.float32).view(np.uint32)), isa


@pytest.mark.parametrize("dtype", [F16, BF16], ids=["float16", "bfloat16"])
def test_stochastic_rounding_bits_and_probabilities(dtype):
    x = _all_f32_near_16bit(dtype)
    f = S.f32_to_f16 if dtype == F16 else S.f32_to_bf16
    for index0 in (0, 2**32 - 100):   # crossing a multiple of 2^32 of the element index
        ref = f(x, R.random_bits(R.buffer_key(11, 0), index0, x.size))
        for isa in ISAS:
            with running_on(isa, 1):
                out = np.zeros(x.shape, dtype)
                fo._native.encode(x, out, rounding="stochastic", seed=11, index0=index0)
                assert np.array_equal(out.view(np.uint16), ref), (isa, index0)
    # unbiased: a value a quarter of the way between neighbours rounds up a quarter of the time
    lo = np.float32(1.0)
    hi = np.nextafter(np.array(1.0, dtype), np.array(2.0, dtype)).astype(np.float32)
    v = np.full(200_000, lo + (hi - lo) / 4, np.float32)
    up = f(v, R.random_bits(5, 0, v.size)).view(dtype).astype(np.float32) == hi
    # binomial(200000, 0.25): sd ~ 0.001; 5 sd
    assert abs(up.mean() - 0.25) < 0.005


def test_q8_codes_roundtrip_and_native_equals_reference():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(5000) * np.exp(rng.uniform(-30, 30, 5000))).astype(np.float32)
    x[:8] = [0, -0.0, 1e-45, -1e-40, 3e38, -3e38, 1.0, -1.0]
    for signed in (True, False):
        v = x if signed else np.abs(x)
        codes, scales = S.q8_encode(v, signed)
        for isa in ISAS:
            with running_on(isa, 1):
                q = Quantized.zeros_like(v, signed)
                fo._native.encode(v, q.codes, q.scales)
                assert np.array_equal(q.codes, codes) and np.array_equal(
                    q.scales.view(np.uint32), scales.view(np.uint32)), isa
                back = fo._native.decode(q.codes, q.scales)
                assert np.array_equal(back.view(np.uint32),
                                      S.q8_decode(codes, scales).view(np.uint32))
        back = S.q8_decode(codes, scales)
        # E4M3 / E4M4 relative error <= 2^-4 / 2^-5 for values within 2^-13 of the block max
        blockmax = np.repeat(np.maximum.reduceat(np.abs(v), np.arange(0, v.size, 256)), 256)
        near = np.abs(v) >= blockmax[: v.size] * 2.0**-13
        rel = np.abs(back[near] - v[near]) / np.abs(v[near])
        assert rel.max() <= (2.0**-4 if signed else 2.0**-5) + 1e-7, rel.max()
        if not signed:
            assert not np.any((back == 0) & (v != 0))  # a positive second moment stays positive
    # a non-finite value poisons its block only
    v = np.ones(600, np.float32)
    v[300] = np.inf
    codes, scales = S.q8_encode(v, True)
    back = S.q8_decode(codes, scales)
    assert np.isfinite(back[:256]).all() and np.isfinite(back[512:]).all()
    assert not np.isfinite(back[256:512]).any()


def test_q8_encode_every_rounding_decision_native_equals_reference():
    # the native encoder rounds in fewer operations than the reference's integer form (normal
    # codes by an add on the bits, subnormal codes by a float add); hold them together on every
    # magnitude below 2 whose top 12 mantissa bits take every value, with low bits 0, 1, just
    # below / at / above half of bit 11 and all ones: every tie and rounding position of both
    # formats lies in the top 12 bits (rounding bit 19 or 18 for normal codes, higher for
    # subnormal ones), so this covers every rounding decision; each block holds 1.5 as well,
    # so its scale is 1 and the codes are those of the values themselves
    field = np.arange(128, dtype=np.uint32)[:, None, None] << np.uint32(23)
    hi = np.arange(4096, dtype=np.uint32)[None, :, None] << np.uint32(11)
    lo = np.array([0, 1, 0x3FF, 0x400, 0x401, 0x7FF], np.uint32)[None, None, :]
    mags = (field | hi | lo).reshape(-1).view(np.float32)
    blocks = np.concatenate([mags, np.zeros(-mags.size % 255, np.float32)]).reshape(-1, 255)
    x = np.concatenate([np.full((blocks.shape[0], 1), 1.5, np.float32), blocks], axis=1).ravel()
    for signed in (True, False):
        v = x.copy()
        if signed:
            v[1::2] = -v[1::2]
        codes, scales = S.q8_encode(v, signed)
        assert np.all(scales == 1.0)
        for isa in ISAS:
            with running_on(isa, 1):
                q = Quantized.zeros_like(v, signed)
                fo._native.encode(v, q.codes, q.scales)
            assert np.array_equal(q.codes, codes), (signed, isa)


def test_q8_decode_every_code_and_scale_kind_native_equals_reference():
    # every code in blocks with scales of every kind: a normal power of two, the smallest
    # (products go subnormal), the largest, +inf, a quiet NaN, a signalling NaN with payload
    # (quieted on decode), a NaN with the sign bit, and -1 and -inf (a loaded checkpoint's
    # scale may carry a sign): the bits of native and reference agree on every ISA, NaN bits
    # included (a NaN's sign is where compilers take liberties)
    scale_bits = np.array([0x3F800000, 0x00800000, 0x7F000000, 0x7F800000, 0x7FC00000,
                           0x7F800123, 0xFFC00001, 0xBF800000, 0xFF800000], np.uint32)
    scales = scale_bits.view(np.float32)
    for dtype in (np.int8, np.uint8):
        codes = np.tile(np.arange(256, dtype=np.uint8), scales.size).view(dtype)
        expected = S.q8_decode(codes, scales)
        eb = expected.view(np.uint32).reshape(scales.size, 256)
        assert np.all(eb[4:6] == (scale_bits[4:6, None] | 0x00400000))   # NaN: its own, quiet
        mag = np.arange(256) & (0x7F if dtype == np.int8 else 0xFF)
        assert np.all(eb[3][mag == 0] == 0x7FC00000)                      # 0 * inf
        assert np.all(np.isinf(expected[256 * 3:256 * 4][mag != 0]))
        assert np.all(np.isinf(expected[256 * 8:][mag != 0]))             # -inf: inf as +inf
        assert np.array_equal(expected[256 * 7:256 * 8], -expected[:256])  # -1: negated
        for isa in ISAS:
            with running_on(isa, 1):
                got = fo._native.decode(codes, scales)
            assert np.array_equal(got.view(np.uint32), expected.view(np.uint32)), (dtype, isa)


# -------------------------------------------------------------------------- semantics
def test_master_follows_the_float32_optimizer_exactly():
    rng = np.random.default_rng(3)
    w16 = rng.standard_normal(5000).astype(BF16)
    w32 = w16.astype(np.float32)
    opt16 = fo.AdamW([w16], lr=1e-2, master_weights=True)
    opt32 = fo.AdamW([w32], lr=1e-2)
    for _ in range(5):
        g = rng.standard_normal(5000).astype(BF16)
        opt16.step([g])
        opt32.step([g.astype(np.float32)])
        master = opt16.state[w16]["master_param"]
        assert np.array_equal(master, w32)
        assert np.array_equal(_bits(w16), _bits(w32.astype(BF16)))  # param = RNE(master)


def test_state_dtypes_and_nbytes():
    p = np.zeros(4096, np.float32)
    opt = fo.Adam([p], state_dtype="int8")
    assert opt.state_nbytes() == 0
    opt.step([np.ones(4096, np.float32)])
    st = opt.state[p]
    assert isinstance(st["exp_avg"], Quantized) and st["exp_avg"].codes.dtype == np.int8
    assert st["exp_avg_sq"].codes.dtype == np.uint8
    assert opt.state_nbytes() / p.size <= 2.1   # issue 11: Adam int8 <= 2.1 B/param
    assert np.asarray(st["exp_avg"]).dtype == np.float32
    ams = fo.Adam([np.zeros(10, np.float32)], amsgrad=True, state_dtype="int8")
    ams.step([np.ones(10, np.float32)])
    assert next(iter(ams.state.values()))["max_exp_avg_sq"].dtype == np.float32
    b = fo.Adam([np.zeros(10, BF16)], state_dtype="bfloat16")
    b.step([np.ones(10, BF16)])
    assert next(iter(b.state.values()))["exp_avg"].dtype == BF16
    ada = fo.Adagrad([np.zeros(10, np.float32)], state_dtype="int8")
    ada.step([np.ones(10, np.float32)])
    assert next(iter(ada.state.values()))["sum"].dtype == np.float32


def test_int8_adam_trains_close_to_float32():
    # least squares on an ill-conditioned problem: int8-state Adam within 3% of fp32's loss
    rng = np.random.default_rng(0)
    A = rng.standard_normal((400, 64)).astype(np.float32) * np.logspace(0, -2, 64, dtype=np.float32)
    y = A @ rng.standard_normal(64).astype(np.float32)

    def train(**precision):
        w = np.zeros(64, np.float32)
        opt = fo.Adam([w], lr=1e-2, **precision)
        for _ in range(400):
            opt.step([(A.T @ (A @ w - y) / len(y)).astype(np.float32)])
        return float(np.mean((A @ w - y) ** 2))

    base = train()
    init = float(np.mean(y ** 2))
    # compare the loss reduction: int8 within 3% of fp32's
    assert (init - train(state_dtype="int8")) >= 0.97 * (init - base)
    assert (init - train(state_dtype="bfloat16")) >= 0.99 * (init - base)


def test_stochastic_rounding_beats_nearest_for_pure_bf16():
    # tiny updates to bf16 params: nearest rounds them all away, stochastic keeps them on average
    def run(rounding):
        w = np.ones(10_000, BF16)
        opt = fo.SGD([w], lr=1e-4, rounding=rounding, seed=1)
        for _ in range(100):
            opt.step([np.ones(10_000, BF16)])
        return float(np.mean(w.astype(np.float32)))
    exact = 1.0 - 100 * 1e-4
    assert run("nearest") == 1.0
    assert abs(run("stochastic") - exact) < 0.1 * (1.0 - exact)


def test_stochastic_rounding_reproducible_and_seeded():
    a = _run("Adam", "native", BF16, dict(rounding="stochastic", seed=5))
    b = _run("Adam", "native", BF16, dict(rounding="stochastic", seed=5))
    c = _run("Adam", "native", BF16, dict(rounding="stochastic", seed=6))
    _assert_same(a, b, "same seed")
    assert not np.array_equal(_bits(a[0][-1]), _bits(c[0][-1]))


# ------------------------------------------------------------------ state dicts, files
@pytest.mark.parametrize("precision, dtype", [
    (dict(state_dtype="int8"), np.float32), (dict(state_dtype="bfloat16"), np.float32),
    (dict(master_weights=True), BF16)])
def test_state_dict_checkpoint_and_pickle_keep_the_bits(tmp_path, precision, dtype):
    params, grads, opt = _make("Adam", "native", dtype, precision, shapes=[(700,)], steps=4)
    for g in grads[:2]:
        opt.step(g)
    sd = opt.state_dict()
    path = tmp_path / "ckpt.npz"
    opt.save(path)
    twin_params = [p.copy() for p in params]
    twin = fo.Adam(twin_params, **precision)
    twin.load(path)
    clone = pickle.loads(pickle.dumps(opt))
    for g in grads[2:]:
        opt.step(g)
        twin.step(g)
        clone.step(g)
    _assert_same((twin_params, twin), (params, opt), "checkpoint")
    _assert_same((clone._params, clone), (params, opt), "pickle")
    # a state dict of another state_dtype is refused, nothing changed
    other = fo.Adam([p.copy() for p in params],
                    **({"state_dtype": "float32"} if "state_dtype" in precision else {}))
    with pytest.raises((TypeError, ValueError)):
        other.load_state_dict(sd)
    assert other.state_nbytes() == 0


# ------------------------------------------------------------------------------ errors
def test_errors_name_the_problem():
    with pytest.raises(TypeError, match="master_weights=True is for float16/bfloat16"):
        fo.Adam([np.zeros(3, np.float32)], master_weights=True)
    with pytest.raises(TypeError, match="float64 params keep float64 state"):
        fo.Adam([np.zeros(3)], state_dtype="int8")
    with pytest.raises(ValueError, match="state_dtype must be one of"):
        fo.Adam([np.zeros(3, np.float32)], state_dtype="int4")
    with pytest.raises(ValueError, match="rounding must be one of"):
        fo.Adam([np.zeros(3, np.float32)], rounding="up")
    with pytest.raises(ValueError, match="seed must be an int"):
        fo.Adam([np.zeros(3, np.float32)], seed=-1)
    p = np.zeros(3, BF16)
    opt = fo.Adam([p])
    with pytest.raises(TypeError, match="does not match"):
        opt.step([np.zeros(3, np.float32)])   # float32 grads need master weights
    assert opt.state_nbytes() == 0
