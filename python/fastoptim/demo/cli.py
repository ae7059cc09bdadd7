"""The demo's driver: ``python -m fastoptim.demo`` (:func:`main`) or :func:`run` from Python.

Everything is driven by two tables: :data:`~fastoptim.demo.optimizers.SPECS` (the
optimizers) and :data:`TASKS` (the models); the settings below only size the work.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Callable

import fastoptim as fo

from .data import Dataset, load_digits
from .models import MLP, LogisticRegression, Model
from .optimizers import OptimizerSpec, available
from .plots import plot_ablation, plot_curves, plot_precision, plot_trajectories
from .precision import compare_precisions, precision_table
from .train import History, best_trajectory, bias_correction_ablation, epochs_to, sweep

__all__ = ["DEFAULT", "QUICK", "TASKS", "Settings", "Task", "main", "run"]


@dataclass(frozen=True)
class Task:
    """A model to train with every optimizer. ``target``: the training loss that "epochs to
    target" counts up to (tuned for digits: most optimizers reach it, at different speeds)."""

    key: str
    title: str  # format string; fields: the Dataset's attributes (n_features, n_classes)
    make: Callable[[Dataset, int], Model]
    target: float


TASKS: tuple[Task, ...] = (
    # The Adam paper's Figure 1 model (L2-regularized, as there): convex, so the curves differ
    # only in how fast they approach the one minimum.
    Task("logreg", "logistic regression (L2 1e-4)",
         lambda d, seed: LogisticRegression(d.n_features, d.n_classes, l2=1e-4), 0.05),
    # Figure 2's kind of model, scaled to 8×8 inputs. The L2 term gives the loss a floor:
    # without it the MLP memorizes the 1347 images, the loss falls to 1e-5 and the "best" lr
    # is just the most aggressive one that does not diverge.
    Task("mlp", "MLP {n_features}-128-{n_classes} (ReLU, L2 1e-4)",
         lambda d, seed: MLP(d.n_features, d.n_classes, hidden=128, l2=1e-4, seed=seed), 0.03),
)


@dataclass(frozen=True)
class Settings:
    """How much work a run does (the default run: well under a minute on 2 cores)."""

    epochs: int = 30
    batch_size: int = 32
    search: bool = True  # the lr search; without it each optimizer runs its spec's lr only
    # Figure 4's ranges: lr 1e-5..1e-1, three beta2, the loss after two budgets 10× apart
    # (the paper: 10 and 100 epochs of a VAE; here 2 and 20 epochs of the MLP).
    ablation_lrs: tuple[float, ...] = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
    ablation_beta2s: tuple[float, ...] = (0.99, 0.999, 0.9999)
    ablation_epochs: tuple[int, ...] = (2, 20)
    toy_steps: int = 500
    # the low-precision comparison: Adam at one lr where float32 trains smoothly on the MLP
    # (at the sweep's 1e-2 its loss curve spikes, and a spike is no measure of precision)
    precision_lr: float = 3e-3
    seed: int = 0


DEFAULT = Settings()
#: ``--quick``: the same figures and tables from a fraction of the work (a smoke test).
QUICK = Settings(epochs=6, search=False, ablation_lrs=(1e-3, 1e-2),
                 ablation_beta2s=(0.99, 0.9999), ablation_epochs=(1, 2), toy_steps=300)


def _table(task: Task, rows: Sequence[tuple[OptimizerSpec, History, int]]) -> str:
    """The results of one model as a Markdown table (pastes into a README as is)."""
    header = (f"| optimizer | lr | final train loss | test acc | "
              f"epochs to loss ≤ {task.target:g} | optimizer steps |")
    lines = [header, "|---|---|---|---|---|---|"]
    for spec, h, tried in rows:
        reached = epochs_to(h, task.target)
        loss = f"{h.final_loss:.3g}" if math.isfinite(h.final_loss) else "diverged"
        acc = h.test_acc[-1]
        lines.append(
            f"| {spec.label} | {h.lr:g} (of {tried}) | {loss} | "
            f"{'—' if math.isnan(acc) else f'{acc:.3f}'} | "
            f"{reached if reached is not None else f'> {len(h.train_loss) - 1}'} | "
            f"{h.step_time * 1e3:.0f} ms ({h.step_time / max(h.steps, 1) * 1e6:.0f} µs/step) |")
    return "\n".join(lines)


def run(data: Dataset | None = None, *, out: str | Path = "fastoptim-demo",
        settings: Settings = DEFAULT, tasks: Sequence[Task] = TASKS,
        echo: Callable[..., None] = print) -> dict[str, list[tuple[OptimizerSpec, History]]]:
    """Train every task's model with every available optimizer on ``data`` (default: the
    digits), print a table per model, write the figures and ``results.md`` into ``out``.

    Returns ``{task.key: [(spec, best run), ...]}``. For your own data:
    ``run(make_dataset(X, y), tasks=[replace(TASKS[1], target=...)])`` (see
    :mod:`fastoptim.demo.data`).
    """
    # One BLAS thread: the demo's matrices (at most 1347×128) are too small for threads to pay
    # off, and on a busy 2-core machine OpenBLAS's hand-offs made the evaluation passes 10×
    # slower (measured). threadpoolctl comes with scikit-learn; without it, BLAS's default.
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return _run(data, out, settings, tasks, echo)
    with threadpool_limits(limits=1, user_api="blas"):
        return _run(data, out, settings, tasks, echo)


def _run(data: Dataset | None, out: str | Path, settings: Settings, tasks: Sequence[Task],
         echo: Callable[..., None]) -> dict[str, list[tuple[OptimizerSpec, History]]]:
    t_start = time.perf_counter()
    data = data if data is not None else load_digits(seed=settings.seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    s = settings

    def progress(text: str) -> None:
        echo(text, end="", flush=True)

    echo(f"fastoptim {fo.__version__} demo: {data.name}, {len(data.y_train)} train / "
         f"{len(data.y_test)} test samples, {data.n_features} features, {data.n_classes} "
         f"classes; seed {s.seed}; native core on {fo.isa()}, {fo.get_num_threads()} thread(s)")
    specs, missing = available()
    notes = []
    if missing:
        notes.append(
            "note: this fastoptim has no " + ", ".join(f"fo.{m.cls}" for m in missing)
            + " yet: skipping " + ", ".join(m.label for m in missing)
            + " (picked up automatically once they exist).")
        echo(notes[-1])

    results: dict[str, list[tuple[OptimizerSpec, History]]] = {}
    heading = (f"# fastoptim demo results ({data.name}, {s.epochs} epochs, "
               f"batch {s.batch_size}, seed {s.seed})")
    report = [heading, *notes]
    titles = {}
    for task in tasks:
        titles[task.key] = task.title.format(n_features=data.n_features,
                                             n_classes=data.n_classes)
        echo(f"\n== {titles[task.key]}: {s.epochs} epochs, batch {s.batch_size}; "
             + ("lr search on the 1-3-10 grid, best final training loss wins ==" if s.search
                else "one lr per optimizer (no search) =="))
        rows = []
        for k, spec in enumerate(specs, 1):
            t0 = time.perf_counter()
            progress(f"[{k:2}/{len(specs)}] {spec.label:<13} lr")
            best, runs = sweep(partial(task.make, data, s.seed), data, spec, epochs=s.epochs,
                               search=s.search, batch_size=s.batch_size, seed=s.seed,
                               progress=progress)
            echo(f"  -> {best.lr:g}  ({time.perf_counter() - t0:.1f} s)")
            rows.append((spec, best, len(runs)))
        table = _table(task, rows)
        echo("\n" + table)
        report += [f"\n## {titles[task.key]}\n", table]
        results[task.key] = [(spec, h) for spec, h, _ in rows]

    figures = [
        plot_curves({titles[k]: v for k, v in results.items()}, out / "loss_curves.png"),
        plot_curves({titles[k]: v for k, v in results.items()}, out / "test_accuracy.png",
                    metric="test_acc"),
    ]

    # Low precision on the last task's model (the MLP): float32 vs bf16 + masters vs int8 state
    task = tasks[-1]
    t0 = time.perf_counter()
    progress(f"\n== Low precision on the {titles[task.key]}: Adam, lr {s.precision_lr:g}, "
             f"{s.epochs} epochs ==")
    prec = compare_precisions(partial(task.make, data, s.seed), data, lr=s.precision_lr,
                              epochs=s.epochs, batch_size=s.batch_size, seed=s.seed,
                              progress=progress)
    echo(f"  ({time.perf_counter() - t0:.1f} s)")
    table = precision_table(prec)
    echo("\n" + table)
    report += [f"\n## Low precision: {titles[task.key]}, Adam lr {s.precision_lr:g}\n", table]
    figures.append(plot_precision(prec, out / "precision.png", title=titles[task.key]))

    # Bias-correction ablation (Adam paper, Section 6.4), on the last task's model (the MLP:
    # the paper's ablation is on a deep model, where early steps matter more).
    task = tasks[-1]
    ab_epochs = tuple(sorted({min(e, s.epochs) for e in s.ablation_epochs}))
    t0 = time.perf_counter()
    progress(f"\n== Adam bias-correction ablation on the {titles[task.key]}: β2 "
             f"{', '.join(map(str, s.ablation_beta2s))} × lr {len(s.ablation_lrs)} values ==\n")
    losses = bias_correction_ablation(
        partial(task.make, data, s.seed), data, lrs=s.ablation_lrs, beta2s=s.ablation_beta2s,
        epochs=ab_epochs, batch_size=s.batch_size, seed=s.seed, progress=progress)
    echo(f"  ({time.perf_counter() - t0:.1f} s)")
    figures.append(plot_ablation(s.ablation_lrs, losses, ab_epochs, out / "bias_correction.png",
                                 title=f"Adam, {titles[task.key]}"))

    progress("\n== Rosenbrock trajectories, each optimizer's best lr:")
    paths = []
    for spec in specs:
        lr, path = best_trajectory(spec, s.toy_steps, search=s.search)
        paths.append((spec, lr, path))
        progress(f" {spec.label} {lr:g};")
    echo("")
    figures.append(plot_trajectories(paths, out / "rosenbrock.png"))

    (out / "results.md").write_text("\n".join(report) + "\n", encoding="utf-8")
    echo(f"\nwrote {', '.join(f.name for f in figures)} and results.md to {out.resolve()}"
         f"\ntotal {time.perf_counter() - t_start:.1f} s")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fastoptim.demo [--out DIR] [--epochs N] [--quick]`` or
    ``mpiexec -n N python -m fastoptim.demo --distributed [--epochs N]``."""
    parser = argparse.ArgumentParser(
        prog="python -m fastoptim.demo",
        description="Train logistic regression and an MLP on scikit-learn's digits with "
                    "every fastoptim optimizer; print tables and write plots.")
    parser.add_argument("--out", default="fastoptim-demo",
                        help="folder for the PNGs and results.md (default: ./fastoptim-demo)")
    parser.add_argument("--epochs", type=int, help=f"epochs per run (default {DEFAULT.epochs}, "
                        f"--quick {QUICK.epochs})")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: no lr search, few epochs, small ablation (< 20 s)")
    parser.add_argument("--distributed", action="store_true",
                        help="under mpiexec: train the MLP data-parallel with Adam's state "
                             "sharded over the ranks, beside one process (needs the mpi extra)")
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be >= 1")
    if args.distributed:
        from .distributed import run_distributed

        run_distributed(epochs=args.epochs or 10)
        return 0
    settings = QUICK if args.quick else DEFAULT
    if args.epochs is not None:
        settings = replace(settings, epochs=args.epochs)
    run(out=args.out, settings=settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
