"""PyTorch-compatible learning-rate schedulers.

Same class names, arguments, defaults and update arithmetic as
``torch.optim.lr_scheduler`` (torch 2.x), so a training loop ported from
PyTorch produces the same learning rates, float for float::

    opt = fastoptim.SGD(params, lr=0.1, momentum=0.9)
    sched = StepLR(opt, step_size=30, gamma=0.1)
    for epoch in range(100):
        for grads in batches():
            opt.step(grads)
        sched.step()

A scheduler works on any object with a ``param_groups`` list of dicts holding a
float ``"lr"`` (``"momentum"`` or ``"betas"`` too for ``cycle_momentum``). It
rewrites ``group["lr"]`` on every :meth:`~LRScheduler.step`. Where torch uses a
recursive ("chainable") formula -- each lr computed from the current
``group["lr"]`` -- so does this module, with the same operation order, because
that is what makes ``ChainedScheduler``/``SequentialLR`` compose and keeps the
sequences bit-identical to torch's.

Differences from torch: arguments are validated up front (torch fails later or
not at all), nothing ever emits a warning, and ``optimizer.step`` is not
patched. For stateless schedules as plain callables see
:mod:`fastoptim.schedules`.

The implementation is split by kind (each file one job): ``base`` (:class:`LRScheduler`, state
dicts), ``lambdas`` (``LambdaLR``, ``MultiplicativeLR``), ``simple`` (step, multi-step, constant,
linear, exponential, polynomial and cosine decays), ``cyclic`` (warm restarts, ``CyclicLR``,
``OneCycleLR``), ``plateau`` (``ReduceLROnPlateau``), ``composite`` (``SequentialLR``,
``ChainedScheduler``). Import the names from ``fastoptim.lr_scheduler``; the submodules are not
part of the API.
"""

from __future__ import annotations

from .base import LRScheduler
from .composite import ChainedScheduler, SequentialLR
from .cyclic import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR
from .lambdas import LambdaLR, MultiplicativeLR
from .plateau import ReduceLROnPlateau
from .simple import (
    ConstantLR,
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    MultiStepLR,
    PolynomialLR,
    StepLR,
)

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]
