"""The demo (python -m fastoptim.demo): a --quick run end to end, and the NumPy models'
hand-written gradients against central finite differences."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

import fastoptim as fo
from fastoptim.demo.data import make_dataset
from fastoptim.demo.models import MLP, LogisticRegression
from fastoptim.demo.optimizers import SPECS, lr_search, make_adam

FIGURES = ("loss_curves.png", "test_accuracy.png", "precision.png", "bias_correction.png",
           "rosenbrock.png")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("demo") / "out"
    # -W error: the project runs with filterwarnings = error; the demo must not warn either
    # (NumPy overflow in a diverging sweep run, matplotlib layout or backend warnings).
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-m", "fastoptim.demo", "--quick", "--out", str(out)],
        capture_output=True, text=True, timeout=120, cwd=out.parent, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stderr == ""
    return proc.stdout, out


def _table_rows(stdout: str) -> list[list[str]]:
    """The optimizer column of each printed Markdown table."""
    tables = re.split(r"\n\| optimizer \|", stdout)[1:]
    return [re.findall(r"^\| ([^|]+?) \|", t, flags=re.MULTILINE) for t in tables]


def test_quick_run_tables(quick_run: tuple[str, Path]) -> None:
    stdout, out = quick_run
    tables = _table_rows(stdout)
    assert len(tables) == 2  # logistic regression and MLP
    for spec in SPECS:
        if spec.available:
            for rows in tables:
                assert spec.label in rows, f"{spec.label} missing from a table:\n{stdout}"
        else:  # not in this fastoptim yet: skipped with a note that names it
            assert re.search(rf"skipping [^\n]*\b{re.escape(spec.label)}\b", stdout)
            assert all(spec.label not in rows for rows in tables)
    assert str(out.resolve()) in stdout  # the output folder is printed at the end
    assert (out / "results.md").read_text(encoding="utf-8").count("| optimizer |") == 2


@pytest.mark.parametrize("name", FIGURES)
def test_quick_run_figures(quick_run: tuple[str, Path], name: str) -> None:
    import matplotlib.image

    path = quick_run[1] / name
    assert path.stat().st_size > 5_000
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 300
    assert pixels[..., :3].var() > 1e-3  # not a single colour


# ------------------------------------------------------------------ gradients
def _numeric_grads(model, X: np.ndarray, y: np.ndarray, h: float = 1e-6) -> dict:
    """Central differences of the loss for every param element (dropout masks fixed by
    re-seeding the rng each evaluation)."""
    def loss() -> float:
        return model.loss_and_grads(X, y, np.random.default_rng(7))[0]

    grads = {}
    for name, p in model.params.items():
        g = np.empty_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + h
            up = loss()
            p[i] = old - h
            down = loss()
            p[i] = old
            g[i] = (up - down) / (2 * h)
        grads[name] = g
    return grads


@pytest.mark.parametrize("make", [
    lambda: LogisticRegression(5, 3, l2=0.1, dtype=np.float64),
    lambda: MLP(5, 3, hidden=6, l2=0.05, dtype=np.float64, seed=1),
    lambda: MLP(5, 3, hidden=6, dropout=0.3, dtype=np.float64, seed=2),
], ids=["logreg", "mlp", "mlp-dropout"])
def test_gradients_match_finite_differences(make) -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((9, 5))
    y = rng.integers(0, 3, 9)
    model = make()
    for p in model.params.values():  # non-zero everywhere, so biases and L2 terms count
        p += 0.3 * rng.standard_normal(p.shape)
    _, grads = model.loss_and_grads(X, y, np.random.default_rng(7))
    expected = _numeric_grads(model, X, y)
    assert grads.keys() == model.params.keys()
    for name, g in grads.items():
        p = model.params[name]
        assert g.dtype == p.dtype and g.shape == p.shape and g.flags.c_contiguous
        np.testing.assert_allclose(g, expected[name], rtol=1e-6, atol=1e-8, err_msg=name)


def test_float32_models_give_float32_grads() -> None:
    """What fastoptim's float32 path needs: grads with the params' dtype, C-contiguous."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 5)).astype(np.float32)
    for model in (LogisticRegression(5, 3), MLP(5, 3, hidden=6)):
        _, grads = model.loss_and_grads(X, np.array([0, 1, 2, 1]))
        for name, g in grads.items():
            assert g.dtype == np.float32 and g.flags.c_contiguous, name
        fo.Adam(model.params).step(grads)


# ------------------------------------------------------------------ helpers of the demo
def test_adam_without_bias_correction() -> None:
    """make_adam(..., bias_correction=False) (fo.Adam's bias_correction option) steps
    p -= lr * m / (sqrt(v) + eps)."""
    rng = np.random.default_rng(0)
    lr, (b1, b2), eps = 1e-2, (0.9, 0.9999), 1e-8
    p = rng.standard_normal(6)
    expected, m, v = p.copy(), np.zeros(6), np.zeros(6)
    opt = make_adam([p], lr, (b1, b2), bias_correction=False)
    for _ in range(5):
        g = rng.standard_normal(6)
        opt.step([g])
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        expected -= lr * m / (np.sqrt(v) + eps)
    np.testing.assert_allclose(p, expected, rtol=1e-12)


def test_lr_search_walks_to_the_minimum() -> None:
    tried = []
    best = lr_search(1e-1, lambda lr: (math.log10(lr) + 2.4) ** 2,
                     on_eval=lambda lr, v: tried.append(lr))
    assert best == 3e-3
    assert tried == [0.1, 0.03, 0.3, 0.01, 0.003, 0.001]
    # a diverged (inf) neighbour stops the walk
    assert lr_search(1e-3, lambda lr: math.inf if lr > 2e-3 else -lr) == 1e-3


def test_make_dataset_plugs_in_any_labels() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)) * [1.0, 10.0, 0.0] + 5  # third feature constant
    y = np.array(["cat", "dog"] * 20)
    d = make_dataset(X, y, test_size=0.25, seed=1)
    assert d.n_classes == 2 and list(d.classes) == ["cat", "dog"]
    assert len(d.y_test) == 10 and np.bincount(d.y_test).tolist() == [5, 5]  # stratified
    assert d.X_train.dtype == np.float32 and d.X_train.flags.c_contiguous
    np.testing.assert_allclose(d.X_train.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(d.X_train.std(axis=0), [1, 1, 0], atol=1e-6)
    with pytest.raises(ValueError):
        make_dataset(X, y[:-1])


def test_low_precision_accuracy_on_the_digits_mlp() -> None:
    # Issue 11's bar, on the demo's MLP (30 epochs, Adam lr 3e-3, the demo's settings): int8
    # state within 3% of float32 Adam's final training loss, bf16 params + float32 masters
    # within 1%, and pure bfloat16 closer to float32 with stochastic than with nearest
    # rounding. int8 state is measured with stochastic rounding, the configuration docs/lowp.rst
    # recommends: with round-to-nearest the second moment's 0.1%-per-step increments round
    # away (measured 3.5-4.7% here), with stochastic rounding they survive on average.
    from functools import partial

    from fastoptim.demo.cli import DEFAULT, TASKS
    from fastoptim.demo.data import load_digits
    from fastoptim.demo.precision import CONFIGS, compare_precisions

    data = load_digits(seed=0)
    by = {c.label: c for c in CONFIGS}
    labels = ["fp32", "bf16 + fp32 master", "int8 state, stochastic", "pure bf16, nearest",
              "pure bf16, stochastic"]
    runs = compare_precisions(partial(TASKS[1].make, data, 0), data, lr=DEFAULT.precision_lr,
                              epochs=DEFAULT.epochs, configs=[by[k] for k in labels])
    loss = {r.config.label: r.history.final_loss for r in runs}
    base = loss["fp32"]
    assert abs(loss["bf16 + fp32 master"] / base - 1) <= 0.01, loss
    assert abs(loss["int8 state, stochastic"] / base - 1) <= 0.03, loss
    assert (abs(loss["pure bf16, stochastic"] - base)
            < abs(loss["pure bf16, nearest"] - base)), loss
    nbytes = {r.config.label: r.state_nbytes / r.n_params for r in runs}
    assert nbytes["fp32"] == 8 and nbytes["int8 state, stochastic"] < 2.05, nbytes
