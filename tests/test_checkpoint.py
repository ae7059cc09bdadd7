"""Checkpoints on disk: resume bit for bit; truncated, foreign or mismatched files are refused
with a clear error and nothing changes."""

from __future__ import annotations

import numpy as np
import pytest

import fastoptim as fo
from fastoptim import schedules


def setup(name="Adam", **kw):
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((5, 3)).astype(np.float32),
              "b": rng.standard_normal(3).astype(np.float32)}
    grads = [{k: rng.standard_normal(v.shape).astype(np.float32) for k, v in params.items()}
             for _ in range(8)]
    return getattr(fo, name)(params, **kw), params, grads


@pytest.mark.parametrize("name, kw", [
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("NAdam", dict(lr=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("Adam", dict(lr=schedules.cosine_decay(0.01, 100))),
])
def test_resume_from_file_is_bit_exact(tmp_path, name, kw):
    straight, sp, grads = setup(name, **kw)
    for g in grads:
        straight.step(g)
    a, ap, _ = setup(name, **kw)
    for g in grads[:4]:
        a.step(g)
    path = tmp_path / "ckpt.npz"
    a.save(path)
    b, bp, _ = setup(name, **kw)
    for k in bp:
        bp[k][...] = ap[k]
    fo.load(b, path)
    for g in grads[4:]:
        b.step(g)
    for k in sp:
        assert np.array_equal(bp[k], sp[k])


def fresh_and_snapshot():
    opt, params, grads = setup(lr=0.05)
    opt.step(grads[0])
    return opt, params, opt.state_dict()


def assert_unchanged(opt, sd):
    now = opt.state_dict()
    assert now["param_groups"] == sd["param_groups"]
    for i, st in sd["state"].items():
        for k, v in st.items():
            assert np.array_equal(now["state"][i][k], v)


def test_truncated_file(tmp_path):
    src, _, grads = setup()
    src.step(grads[0])
    path = tmp_path / "ckpt.npz"
    fo.save(src, path)
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    opt, _, sd = fresh_and_snapshot()
    with pytest.raises(ValueError, match="not a readable fastoptim checkpoint"):
        fo.load(opt, tmp_path / "cut.npz")
    assert_unchanged(opt, sd)


def test_foreign_files(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    (tmp_path / "text.npz").write_text("hello")
    opt, _, sd = fresh_and_snapshot()
    with pytest.raises(ValueError, match="not a fastoptim checkpoint"):
        fo.load(opt, tmp_path / "other.npz")
    with pytest.raises(ValueError, match="not a readable"):
        fo.load(opt, tmp_path / "text.npz")
    with pytest.raises(ValueError, match="not a readable"):
        fo.load(opt, tmp_path / "missing.npz")
    assert_unchanged(opt, sd)


def test_other_optimizer_or_shapes(tmp_path):
    sgd, _, grads = setup("SGD", lr=0.1, momentum=0.9)
    sgd.step(grads[0])
    sgd.save(tmp_path / "sgd.npz")
    opt, _, sd = fresh_and_snapshot()
    with pytest.raises(ValueError, match="from a SGD optimizer"):
        opt.load(tmp_path / "sgd.npz")
    small = fo.Adam({"W": np.zeros((2, 2), np.float32), "b": np.zeros(3, np.float32)})
    small.step({"W": np.ones((2, 2), np.float32), "b": np.ones(3, np.float32)})
    small.save(tmp_path / "small.npz")
    with pytest.raises(ValueError, match="shape"):
        opt.load(tmp_path / "small.npz")
    assert_unchanged(opt, sd)


def test_newer_version_refused(tmp_path):
    src, _, _ = setup()
    path = tmp_path / "ckpt.npz"
    src.save(path)
    with np.load(path) as z:
        entries = {k: z[k] for k in z.files}
    entries["__meta__"] = np.array(str(entries["__meta__"]).replace('"version": 1',
                                                                    '"version": 99'))
    np.savez(path, **entries)
    opt, _, _ = fresh_and_snapshot()
    with pytest.raises(ValueError, match="version 99"):
        opt.load(path)


def test_schedule_must_match(tmp_path):
    src, _, grads = setup(lr=schedules.cosine_decay(0.01, 100))
    src.step(grads[0])
    src.save(tmp_path / "c.npz")
    other, _, _ = setup(lr=schedules.cosine_decay(0.02, 100))
    with pytest.raises(ValueError, match="same schedule"):
        other.load(tmp_path / "c.npz")
