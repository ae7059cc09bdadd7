"""The optimizer classes (torch.optim's names, arguments and defaults)."""

from .adam import Adam, AdamW
from .base import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW"]
