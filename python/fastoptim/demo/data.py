"""Data for the demo: scikit-learn's bundled digits, or your own ``(X, y)`` arrays.

To run the demo's models and optimizers on your own data set, build a :class:`Dataset` with
:func:`make_dataset` and pass it to :func:`fastoptim.demo.run`::

    import numpy as np
    from fastoptim.demo import make_dataset, run

    X = np.load("features.npy")          # (n_samples, n_features), any real dtype
    y = np.load("labels.npy")            # (n_samples,), any labels: ints, strings, ...
    run(make_dataset(X, y, name="mine"), out="demo-out")

    # optional: the loss that "epochs to target" counts to (the defaults are tuned for digits)
    from dataclasses import replace
    from fastoptim.demo import TASKS
    run(make_dataset(X, y), tasks=[replace(t, target=0.2) for t in TASKS])

``make_dataset`` splits (stratified, seeded), standardizes with the training split's
statistics and converts to float32 / int64 class indices; nothing else in the demo knows
where the data came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Dataset", "load_digits", "make_dataset"]


@dataclass(frozen=True)
class Dataset:
    """A classification data set, split and ready to train on.

    ``X_*`` are float32 C-contiguous ``(n, n_features)``; ``y_*`` int64 class indices in
    ``range(n_classes)``; ``classes`` the original label of each index.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: np.ndarray

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def make_dataset(X: np.ndarray, y: np.ndarray, *, name: str = "data", test_size: float = 0.25,
                 seed: int = 0, standardize: bool = True) -> Dataset:
    """Turn arrays ``X`` (n_samples × n_features) and labels ``y`` (n_samples) into a
    :class:`Dataset`: a stratified train/test split (``test_size`` of the samples, every class
    in both parts where it has enough samples), seeded by ``seed``; features standardized with
    the training part's mean and standard deviation (constant features are left centred).
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"expected X of shape (n, d) and y of shape (n,), got {X.shape} "
                         f"and {y.shape}")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    classes, labels = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError("y has fewer than two classes")
    rng = np.random.default_rng(seed)
    # Stratified split by hand (no sklearn needed for your own data): shuffle each class and
    # send its first test_size share to the test part.
    test = np.zeros(len(y), bool)
    for c in range(len(classes)):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test[idx[: round(test_size * len(idx))]] = True
    X = X.astype(np.float64)
    X_train, X_test = X[~test], X[test]
    if standardize:
        mean = X_train.mean(axis=0)
        std = X_train.std(axis=0)
        std[std == 0] = 1.0  # constant pixels (the digits' borders): centre only
        X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    return Dataset(name, np.ascontiguousarray(X_train, dtype=np.float32),
                   labels[~test].astype(np.int64),
                   np.ascontiguousarray(X_test, dtype=np.float32),
                   labels[test].astype(np.int64), classes)


def load_digits(*, test_size: float = 0.25, seed: int = 0) -> Dataset:
    """scikit-learn's bundled handwritten digits (1797 8×8 images, 10 classes; no download),
    through :func:`make_dataset`."""
    from sklearn.datasets import load_digits as _load  # the demo's only use of scikit-learn

    d = _load()
    return make_dataset(d.data, d.target, name="digits", test_size=test_size, seed=seed)
