"""The two models of the demo, in plain NumPy with the backward pass written out.

Both follow one small protocol (:class:`Model`) that the training loop relies on:

* ``params``: a dict ``name -> array`` — handed to the optimizer as is, so the optimizer
  updates the model's own arrays in place;
* ``loss_and_grads(X, y, rng)``: the mini-batch loss and a dict of gradients with the same
  names, dtypes and shapes as ``params`` (fresh C-contiguous arrays, as fastoptim requires);
* ``logits(X)``: the forward pass without dropout, for evaluation.

The dtype is a constructor argument: training uses float32 (what users do, and fastoptim's
float32 kernels), the gradient checks in ``tests/test_demo.py`` float64.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

__all__ = ["MLP", "LogisticRegression", "Model", "softmax_cross_entropy"]


class Model(Protocol):
    """What the training loop needs from a model."""

    params: dict[str, np.ndarray]

    def loss_and_grads(
        self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator | None = None
    ) -> tuple[float, dict[str, np.ndarray]]: ...

    def logits(self, X: np.ndarray) -> np.ndarray: ...

    def penalty(self) -> float: ...


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of ``softmax(logits)`` against integer labels ``y``, and its
    gradient with respect to ``logits`` (``(softmax - onehot) / n``), in ``logits``' dtype."""
    n = logits.shape[0]
    # Shift by the row max so exp never overflows (float32 logits reach ~90 late in training).
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    # log-sum-exp minus the true logit; accumulated in float64 so tiny late-training losses
    # (1e-5 and below, on the log-scale plots) are not float32 rounding noise.
    loss = float(np.mean(np.log(s[:, 0].astype(np.float64)) - z[rows, y]))
    d = e / s
    d[rows, y] -= 1
    d /= n
    return loss, d


def _l2(params: dict[str, np.ndarray], names: tuple[str, ...], l2: float) -> float:
    return 0.5 * l2 * sum(float(np.vdot(params[k], params[k])) for k in names) if l2 else 0.0


class LogisticRegression:
    """Multinomial logistic regression ``softmax(X W + b)`` with an optional L2 penalty
    ``l2 / 2 * ||W||²`` on the weights (the Adam paper's first experiment).

    Zero init: the problem is convex, and it gives every optimizer the same start.
    """

    def __init__(self, n_features: int, n_classes: int, *, l2: float = 0.0,
                 dtype: np.dtype | type = np.float32, seed: int = 0) -> None:
        self.l2 = float(l2)
        self.params = {"W": np.zeros((n_features, n_classes), dtype),
                       "b": np.zeros(n_classes, dtype)}

    def logits(self, X: np.ndarray) -> np.ndarray:
        return X @ self.params["W"] + self.params["b"]

    def penalty(self) -> float:
        return _l2(self.params, ("W",), self.l2)

    def loss_and_grads(
        self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator | None = None
    ) -> tuple[float, dict[str, np.ndarray]]:
        W = self.params["W"]
        loss, d = softmax_cross_entropy(self.logits(X), y)
        dW = X.T @ d
        if self.l2:
            dW += self.l2 * W
        return loss + self.penalty(), {"W": dW, "b": d.sum(axis=0)}


class MLP:
    """A one-hidden-layer perceptron ``softmax(dropout(relu(X W1 + b1)) W2 + b2)``.

    He-normal init for W1 (ReLU), Glorot for W2, zero biases, all from ``seed``: every
    optimizer starts from the same weights. ``dropout`` (a drop probability, inverted dropout)
    applies only when ``loss_and_grads`` gets an ``rng``; ``logits`` never drops.
    """

    def __init__(self, n_features: int, n_classes: int, *, hidden: int = 128,
                 dropout: float = 0.0, l2: float = 0.0,
                 dtype: np.dtype | type = np.float32, seed: int = 0) -> None:
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.dropout = float(dropout)
        self.l2 = float(l2)
        g = np.random.default_rng(seed)
        self.params = {
            "W1": (g.standard_normal((n_features, hidden))
                   * np.sqrt(2.0 / n_features)).astype(dtype),
            "b1": np.zeros(hidden, dtype),
            "W2": (g.standard_normal((hidden, n_classes))
                   * np.sqrt(2.0 / (hidden + n_classes))).astype(dtype),
            "b2": np.zeros(n_classes, dtype),
        }

    def logits(self, X: np.ndarray) -> np.ndarray:
        p = self.params
        return np.maximum(X @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]

    def penalty(self) -> float:
        return _l2(self.params, ("W1", "W2"), self.l2)

    def loss_and_grads(
        self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator | None = None
    ) -> tuple[float, dict[str, np.ndarray]]:
        p = self.params
        h = X @ p["W1"] + p["b1"]
        a = np.maximum(h, 0)
        mask = None
        if self.dropout and rng is not None:
            keep = 1.0 - self.dropout
            mask = (rng.random(a.shape) < keep).astype(a.dtype) / a.dtype.type(keep)
            a = a * mask
        loss, d = softmax_cross_entropy(a @ p["W2"] + p["b2"], y)
        dW2 = a.T @ d
        da = d @ p["W2"].T
        if mask is not None:
            da *= mask
        dh = da * (h > 0)  # ReLU's derivative (0 at 0, as every framework)
        dW1 = X.T @ dh
        if self.l2:
            dW1 += self.l2 * p["W1"]
            dW2 += self.l2 * p["W2"]
        return loss + self.penalty(), {"W1": dW1, "b1": dh.sum(axis=0),
                                       "W2": dW2, "b2": d.sum(axis=0)}
