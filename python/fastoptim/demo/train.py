"""Training loops: mini-batch training of one model with one optimizer, the learning-rate
sweep, the bias-correction ablation and the 2-D trajectories.

Everything is seeded: every run of a model starts from the same weights and sees the same
mini-batches in the same order, so runs differ only in the optimizer and its learning rate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .data import Dataset
from .models import Model, softmax_cross_entropy
from .optimizers import OptimizerSpec, Stepper, lr_search, make_adam, make_optimizer

__all__ = [
    "History",
    "best_trajectory",
    "bias_correction_ablation",
    "epochs_to",
    "rosenbrock",
    "sweep",
    "train",
    "trajectory",
]

#: A loss above this (softmax cross-entropy starts at ln(10) ≈ 2.3) counts as diverged.
DIVERGED = 1e3


@dataclass
class History:
    """One training run: per-epoch curves (index 0 = before the first step).

    ``train_loss``: the full training set's loss (no dropout) after each epoch, NaN after a
    divergence; ``test_acc``: test accuracy; ``step_time``: seconds spent inside
    ``optimizer.step`` (the part fastoptim is responsible for); ``steps``: how many.
    """

    lr: float
    train_loss: np.ndarray
    test_acc: np.ndarray
    step_time: float
    steps: int

    @property
    def final_loss(self) -> float:
        """Last epoch's training loss; ``inf`` if the run diverged (so sweeps never pick it)."""
        v = float(self.train_loss[-1])
        return v if math.isfinite(v) else math.inf


def evaluate(model: Model, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(loss with the model's penalty, accuracy) on ``X, y``."""
    logits = model.logits(X)
    loss, _ = softmax_cross_entropy(logits, y)
    return loss + model.penalty(), float(np.mean(logits.argmax(axis=1) == y))


def train(model: Model, data: Dataset, make: Callable[[dict[str, np.ndarray]], Stepper], *,
          epochs: int, lr: float = math.nan, batch_size: int = 32, seed: int = 0) -> History:
    """Train ``model`` in place with the optimizer ``make(model.params)`` for ``epochs`` passes
    over the training set in shuffled mini-batches (the last one may be smaller); ``lr`` only
    labels the result."""
    opt = make(model.params)
    rng = np.random.default_rng(seed)  # batch order and dropout: the same for every run
    n = len(data.y_train)
    losses = np.full(epochs + 1, np.nan)
    accs = np.full(epochs + 1, np.nan)
    losses[0] = evaluate(model, data.X_train, data.y_train)[0]
    accs[0] = evaluate(model, data.X_test, data.y_test)[1]
    step_time, steps = 0.0, 0

    def one_epoch() -> bool:
        nonlocal step_time, steps
        perm = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            loss, grads = model.loss_and_grads(data.X_train[idx], data.y_train[idx], rng)
            if not loss < DIVERGED:  # also catches NaN
                return False
            t0 = time.perf_counter()
            opt.step(grads)
            step_time += time.perf_counter() - t0
            steps += 1
        return True

    # A too-large lr overflows float32 on purpose in the sweep: caught by the loss checks, so
    # NumPy's overflow/invalid warnings would only be noise.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(1, epochs + 1):
            if not one_epoch():
                break
            loss = evaluate(model, data.X_train, data.y_train)[0]
            if not loss < DIVERGED:
                break  # diverged: the rest of the curves stays NaN
            losses[epoch], accs[epoch] = loss, evaluate(model, data.X_test, data.y_test)[1]
    return History(lr, losses, accs, step_time, steps)


def sweep(new_model: Callable[[], Model], data: Dataset, spec: OptimizerSpec, *,
          epochs: int, search: bool = True, batch_size: int = 32, seed: int = 0,
          progress: Callable[[str], None] = lambda s: None) -> tuple[History, list[History]]:
    """Train a fresh model per learning rate that :func:`lr_search` tries from ``spec.lr``
    (only ``spec.lr`` if not ``search``) and return the run with the lowest final training
    loss — the Adam paper's criterion, it compares training cost — and all runs, by lr."""
    runs: dict[float, History] = {}

    def final_loss(lr: float) -> float:
        runs[lr] = train(new_model(), data, lambda p: make_optimizer(spec, p, lr),
                         epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
        return runs[lr].final_loss

    def report(lr: float, loss: float) -> None:
        progress(f" {lr:g}" + ("(diverged)" if math.isinf(loss) else ""))

    if search:
        best = lr_search(spec.lr, final_loss, on_eval=report)
    else:
        best = spec.lr
        report(best, final_loss(best))
    return runs[best], [runs[lr] for lr in sorted(runs)]


def epochs_to(history: History, target: float) -> int | None:
    """The first epoch whose training loss is <= ``target`` (None if never)."""
    hit = np.flatnonzero(history.train_loss <= target)
    return int(hit[0]) if len(hit) else None


def bias_correction_ablation(
    new_model: Callable[[], Model], data: Dataset, *, lrs: Sequence[float],
    beta2s: Sequence[float], epochs: Sequence[int], beta1: float = 0.9, batch_size: int = 32,
    seed: int = 0, progress: Callable[[str], None] = lambda s: None,
) -> dict[tuple[float, bool], np.ndarray]:
    """The Adam paper's Section 6.4 / Figure 4: Adam with and without bias correction, for
    each beta2 and lr, trained ``max(epochs)`` epochs. Returns the training loss after each of
    ``epochs``, ``{(beta2, corrected): array (len(lrs), len(epochs))}``; NaN where diverged."""
    def run(lr: float, beta2: float, corrected: bool) -> np.ndarray:
        def make(p: dict[str, np.ndarray]) -> Stepper:
            return make_adam(p, lr, (beta1, beta2), corrected)

        return train(new_model(), data, make, epochs=max(epochs), lr=lr, batch_size=batch_size,
                     seed=seed).train_loss[list(epochs)]

    out = {}
    for beta2 in beta2s:
        for corrected in (True, False):
            progress(f" β2={beta2:g}/{'on' if corrected else 'off'}")
            out[beta2, corrected] = np.array([run(lr, beta2, corrected) for lr in lrs])
    return out


# --------------------------------------------------------------------- 2-D trajectories
def rosenbrock(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rosenbrock's banana ``(1-x)² + 100 (y-x²)²`` (minimum 0 at (1, 1)) and its gradient,
    for ``xy`` of shape (2, ...) (a point, or a grid for the contour plot)."""
    x, y = xy[0], xy[1]
    r = y - x * x
    return (1 - x) ** 2 + 100 * r * r, np.array([-2 * (1 - x) - 400 * x * r, 200 * r])


START = (-1.2, 1.0)  # Rosenbrock's classic start, on the far side of the valley


def trajectory(spec: OptimizerSpec, lr: float, steps: int,
               start: tuple[float, float] = START) -> np.ndarray:
    """The path ``(steps + 1, 2)`` of the optimizer on :func:`rosenbrock` from ``start``
    (float64: a 2-vector is not what fastoptim's speed is about, its exact path is)."""
    xy = np.array(start, dtype=np.float64)
    opt = make_optimizer(spec, [xy], lr)
    path = np.full((steps + 1, 2), np.nan)
    path[0] = xy
    for t in range(1, steps + 1):
        _, g = rosenbrock(xy)
        opt.step([g])
        if not np.all(np.abs(xy) < 1e3):
            break  # diverged: the rest stays NaN
        path[t] = xy
    return path


def best_trajectory(spec: OptimizerSpec, steps: int, *,
                    search: bool = True) -> tuple[float, np.ndarray]:
    """The lr (searched from ``spec.toy_lr`` as :func:`sweep` does) whose path ends lowest
    without ever climbing above the start's value — the best lr is often a wild path at the
    edge of stability, unreadable in a figure — and that path."""
    paths: dict[float, np.ndarray] = {}

    def final_f(lr: float) -> float:
        paths[lr] = path = trajectory(spec, lr, steps)
        if not np.all(np.isfinite(path)):
            return math.inf
        f = rosenbrock(path.T)[0]
        return float(f[-1]) if f.max() <= f[0] else math.inf

    lr = lr_search(spec.toy_lr, final_f) if search else spec.toy_lr
    return lr, paths[lr] if lr in paths else trajectory(spec, lr, steps)
