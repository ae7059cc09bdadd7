"""The demo's figures, drawn with matplotlib's object API on the Agg canvas.

``Figure`` + ``FigureCanvasAgg`` instead of pyplot: no global backend switch (the demo can run
inside a notebook or GUI session without changing its backend), no figure registry to leak,
and PNG output without a display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .optimizers import SPECS, OptimizerSpec
from .train import START, History, rosenbrock

__all__ = ["plot_ablation", "plot_curves", "plot_precision", "plot_trajectories"]

# One colour per optimizer for every figure (tab10 has exactly ten); the SGD family dashed so
# the plain-gradient methods read apart from the adaptive ones even in greyscale.
_COLORS = {s.label: f"C{i}" for i, s in enumerate(SPECS)}


def _style(spec: OptimizerSpec) -> dict:
    adam = spec.label == "Adam"  # the paper's subject: drawn thicker and on top
    return {"color": _COLORS.get(spec.label, "k"), "linestyle": "--" if spec.cls == "SGD" else "-",
            "linewidth": 2.6 if adam else 1.5, "zorder": 3 if adam else 2}


def _save(fig: Figure, path: Path, dpi: int) -> Path:
    FigureCanvasAgg(fig)  # attaches the Agg canvas: savefig renders without any GUI backend
    fig.savefig(path, dpi=dpi)
    return path


def plot_curves(results: Mapping[str, Sequence[tuple[OptimizerSpec, History]]], path: Path, *,
                metric: str = "train_loss", dpi: int = 100) -> Path:
    """One panel per model: ``metric`` ("train_loss", log scale as in the Adam paper's
    Figures 1-2, or "test_acc") against epochs, one line per optimizer at its best lr."""
    fig = Figure(figsize=(5.2 * len(results), 4.2), layout="constrained")
    axes = fig.subplots(1, len(results), squeeze=False)[0]
    for ax, (title, runs) in zip(axes, results.items()):
        for spec, h in runs:
            y = getattr(h, metric)
            ax.plot(np.arange(len(y)), y, label=f"{spec.label} ({h.lr:g})", **_style(spec))
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(True, which="both", alpha=0.3)
        if metric == "train_loss":
            ax.set_yscale("log")
            ax.set_ylabel("training loss (full training set)")
        else:
            ax.set_ylabel("test accuracy")
            # Accuracy starts near chance; show from the worst accuracy after one epoch (floored
            # at 0.5) so the top few percent, where the optimizers differ, stay readable.
            first = [h.test_acc[1] for _, h in runs if len(h.test_acc) > 1]
            low = np.nanmin(first) if first and not np.all(np.isnan(first)) else 0.0
            ax.set_ylim(max(0.5, np.floor(20 * low) / 20 - 0.02), 1.0)
        ax.legend(fontsize=7, ncol=2, title="optimizer (lr)", title_fontsize=7)
    return _save(fig, path, dpi)


def plot_ablation(lrs: Sequence[float], losses: Mapping[tuple[float, bool], np.ndarray],
                  epochs: Sequence[int], path: Path, *, title: str, dpi: int = 100) -> Path:
    """Adam with and without bias correction, after each epoch in ``epochs`` (one panel
    each), as the Adam paper's Figure 4: training loss against lr, one line per
    (beta2, corrected); ``losses[(beta2, corrected)]`` is (len(lrs), len(epochs))."""
    fig = Figure(figsize=(4.6 * len(epochs) + 2.2, 4.2), layout="constrained")
    # the last, narrow column holds the legend: inside a panel it would hide the curves
    axes = fig.subplots(1, len(epochs) + 1,
                        gridspec_kw={"width_ratios": [1.0] * len(epochs) + [0.45]})
    beta2s = sorted({b for b, _ in losses})
    for k, (ax, epoch) in enumerate(zip(axes, epochs)):
        # by beta2, "with correction" first (the legend's order)
        for (beta2, corrected), curve in sorted(losses.items(),
                                                key=lambda kv: (kv[0][0], not kv[0][1])):
            ax.plot(lrs, curve[:, k], marker="o" if corrected else "x",
                    linestyle="-" if corrected else "--", color=f"C{beta2s.index(beta2)}",
                    label=f"β2={beta2:g}, " + ("with" if corrected else "without")
                    + " correction")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        ax.set_title(f"after {epoch} epoch{'s' if epoch > 1 else ''}")
        ax.grid(True, which="both", alpha=0.3)
    axes[-1].axis("off")
    axes[-1].legend(*axes[0].get_legend_handles_labels(), loc="center", fontsize=8,
                    title="β1 = 0.9", title_fontsize=8)
    fig.suptitle(f"{title}: with and without bias correction (Adam paper, Figure 4)")
    return _save(fig, path, dpi)


def plot_trajectories(paths: Sequence[tuple[OptimizerSpec, float, np.ndarray]], path: Path, *,
                      dpi: int = 100) -> Path:
    """Each optimizer's path on the Rosenbrock function from the same start, over its
    contours; two panels (SGD variants and per-coordinate rates / Adam and its descendants,
    Lion included) so ten paths stay readable."""
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    axes = fig.subplots(1, 2)
    x, y = np.meshgrid(np.linspace(-1.6, 1.5, 300), np.linspace(-0.5, 1.7, 300))
    f = rosenbrock(np.stack([x, y]))[0]
    groups = ([p for p in paths if SPECS.index(p[0]) < 5], [p for p in paths
                                                            if SPECS.index(p[0]) >= 5])
    names = ("SGD variants, AdaGrad, RMSProp", "Adam and descendants")
    for ax, group, name in zip(axes, groups, names):
        ax.contour(x, y, f, levels=np.logspace(-1, 3.5, 14), colors="0.6", linewidths=0.6)
        for spec, lr, xy in group:
            style = {**_style(spec), "linewidth": 1.1, "alpha": 0.9}
            ax.plot(xy[:, 0], xy[:, 1], label=f"{spec.label} (lr {lr:g})", **style)
            end = xy[np.isfinite(xy[:, 0])][-1]
            ax.plot(*end, "o", color=style["color"], markersize=4)  # where it stopped
        ax.plot(*START, "ko", markersize=5)
        ax.plot(1, 1, "k*", markersize=10)
        ax.set_xlim(-1.6, 1.5)
        ax.set_ylim(-0.5, 1.7)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_title(name)
        if group:
            ax.legend(fontsize=7, loc="lower right")
    steps = len(paths[0][2]) - 1 if paths else 0
    fig.suptitle(f"Rosenbrock function: {steps} steps from {START} (●) toward the minimum "
                 "(1, 1) (★); each optimizer at the lr whose path ends lowest without climbing",
                 fontsize=10)
    return _save(fig, path, dpi)


def plot_precision(runs: Sequence, path: Path, *, title: str, dpi: int = 100) -> Path:
    """Left: training loss against epochs per precision config (one Adam lr); right: bytes of
    optimizer state per param (:func:`fastoptim.demo.precision.compare_precisions`)."""
    fig = Figure(figsize=(10.4, 4.2), layout="constrained")
    ax, bx = fig.subplots(1, 2, width_ratios=(3, 2))
    labels = [r.config.label for r in runs]
    for i, r in enumerate(runs):
        y = r.history.train_loss
        ax.plot(np.arange(len(y)), y, color=f"C{i}", linewidth=2.2 if i == 0 else 1.4,
                linestyle="-" if i % 2 == 0 else "--", label=r.config.label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (full training set)")
    ax.set_title(f"{title}: Adam, lr {runs[0].history.lr:g}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    per = [r.state_nbytes / r.n_params for r in runs]
    bx.barh(np.arange(len(runs)), per, color=[f"C{i}" for i in range(len(runs))])
    bx.set_yticks(np.arange(len(runs)), labels, fontsize=7)
    bx.invert_yaxis()
    bx.set_xlabel("optimizer state, bytes per param (masters included)")
    for i, v in enumerate(per):
        bx.text(v, i, f" {v:.2f}", va="center", fontsize=7)
    bx.set_xlim(0, max(per) * 1.25)
    return _save(fig, path, dpi)
