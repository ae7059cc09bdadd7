"""Low precision on the digits MLP: the same Adam run with float32 everything, with bfloat16
params and float32 master weights, with float32 params and int8 blockwise state, and in pure
bfloat16 (no masters) with nearest and with stochastic rounding.

The model computes in float32 whatever its params are stored in (mixed precision: the 16-bit
params are upcast for the forward and backward pass, as a framework's autocast does). The
master-weights run hands the optimizer float32 grads (allowed with masters); the pure
bfloat16 runs round the grads to bfloat16 first, as a bfloat16 backward would give them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import fastoptim as fo

from .data import Dataset
from .models import Model
from .train import History, train

__all__ = ["CONFIGS", "PrecisionConfig", "PrecisionRun", "compare_precisions"]


@dataclass(frozen=True)
class PrecisionConfig:
    """One line of the comparison: params stored as ``param_dtype`` ("float32" or
    "bfloat16"), grads given as ``grad_dtype``, ``fo.Adam(..., **options)``."""

    label: str
    param_dtype: str
    grad_dtype: str
    options: dict[str, Any]


CONFIGS: tuple[PrecisionConfig, ...] = (
    PrecisionConfig("fp32", "float32", "float32", {}),
    PrecisionConfig("bf16 + fp32 master", "bfloat16", "float32", {"master_weights": True}),
    PrecisionConfig("int8 state", "float32", "float32", {"state_dtype": "int8"}),
    PrecisionConfig("int8 state, stochastic", "float32", "float32",
                    {"state_dtype": "int8", "rounding": "stochastic", "seed": 0}),
    PrecisionConfig("bf16 state, stochastic", "float32", "float32",
                    {"state_dtype": "bfloat16", "rounding": "stochastic", "seed": 0}),
    PrecisionConfig("pure bf16, nearest", "bfloat16", "bfloat16", {}),
    PrecisionConfig("pure bf16, stochastic", "bfloat16", "bfloat16",
                    {"rounding": "stochastic", "seed": 0}),
)


@dataclass
class PrecisionRun:
    """A config's training run and the optimizer's bytes of state at its end."""

    config: PrecisionConfig
    history: History
    state_nbytes: int
    n_params: int
    param_nbytes: int


class _Stored:
    """A model whose params are stored in ``dtype`` and computed with in float32."""

    def __init__(self, model: Model, dtype: np.dtype, grad_dtype: np.dtype) -> None:
        self._model = model
        self._grad_dtype = grad_dtype
        self.params = {k: v.astype(dtype) for k, v in model.params.items()}  # type: ignore[attr-defined]

    def _sync(self) -> None:
        for k, v in self.params.items():
            self._model.params[k] = v.astype(np.float32)  # type: ignore[attr-defined]

    def logits(self, X: np.ndarray) -> np.ndarray:
        self._sync()
        return self._model.logits(X)

    def penalty(self) -> float:
        self._sync()
        return self._model.penalty()

    def loss_and_grads(self, X: np.ndarray, y: np.ndarray,
                       rng: np.random.Generator | None = None) -> tuple[float, dict]:
        self._sync()
        loss, grads = self._model.loss_and_grads(X, y, rng)
        return loss, {k: g.astype(self._grad_dtype) for k, g in grads.items()}


def compare_precisions(new_model: Callable[[], Model], data: Dataset, *, lr: float,
                       epochs: int, batch_size: int = 32, seed: int = 0,
                       configs: Sequence[PrecisionConfig] = CONFIGS,
                       progress: Callable[[str], None] = lambda s: None) -> list[PrecisionRun]:
    """Train a fresh float32 model (converted to each config's storage) with Adam at ``lr``
    for every config: the same initial weights and mini-batches for all."""
    runs = []
    for cfg in configs:
        progress(f" {cfg.label};")
        model = new_model()
        dtype = fo.lowp.bfloat16() if cfg.param_dtype == "bfloat16" else np.dtype(np.float32)
        gdt = fo.lowp.bfloat16() if cfg.grad_dtype == "bfloat16" else np.dtype(np.float32)
        stored = model if cfg.param_dtype == "float32" else _Stored(model, dtype, gdt)
        box: dict[str, Any] = {}

        def make(params: dict, cfg: PrecisionConfig = cfg) -> Any:
            box["opt"] = fo.Adam(params, lr=lr, **cfg.options)
            return box["opt"]

        h = train(stored, data, make, epochs=epochs, lr=lr,  # type: ignore[arg-type]
                  batch_size=batch_size, seed=seed)
        params = stored.params.values()  # type: ignore[attr-defined]
        runs.append(PrecisionRun(cfg, h, box["opt"].state_nbytes(), sum(p.size for p in params),
                                 sum(p.nbytes for p in params)))
    return runs


def precision_table(runs: Sequence[PrecisionRun]) -> str:
    """Markdown: optimizer state bytes (masters included; total and per param), params + state
    per param, final training loss and its ratio to the first (fp32) run's, test accuracy."""
    base = runs[0].history.final_loss
    lines = ["| precision | state bytes | state B/param | params + state B/param | "
             "final train loss | vs fp32 | test acc |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in runs:
        loss = r.history.final_loss
        total = (r.state_nbytes + r.param_nbytes) / r.n_params
        lines.append(f"| {r.config.label} | {r.state_nbytes:,} | {r.state_nbytes / r.n_params:.2f}"
                     f" | {total:.2f} | {loss:.4f} | {loss / base:.3f}x | "
                     f"{r.history.test_acc[-1]:.3f} |")
    return "\n".join(lines)
