"""The pure-NumPy reference: the same optimizer classes, with the per-element update done by
NumPy (``fastoptim.reference.kernels``) instead of the C++ core.

Same API, same defaults, same validation, and the same bits as the native classes on every ISA
path and thread count (tested with ``np.array_equal``). Use it to check the native path, to
read an optimizer's update in ten lines of NumPy, or as the baseline in ``bench/``.
"""

from __future__ import annotations

from .. import optim as _optim
from ..ema import EMA as _EMA
from . import kernels


def _reference(cls: type) -> type:
    return type(
        cls.__name__,
        (cls,),
        {
            "_backend": "reference",
            "__doc__": f"NumPy reference of :class:`fastoptim.{cls.__name__}` (same bits).\n\n"
            + (cls.__doc__ or ""),
            "__module__": __name__,
            "__qualname__": cls.__name__,
        },
    )


SGD = _reference(_optim.SGD)
Adam = _reference(_optim.Adam)
AdamW = _reference(_optim.AdamW)
Adagrad = _reference(_optim.Adagrad)
RMSprop = _reference(_optim.RMSprop)
Adamax = _reference(_optim.Adamax)
NAdam = _reference(_optim.NAdam)
RAdam = _reference(_optim.RAdam)
Adadelta = _reference(_optim.Adadelta)
Lion = _reference(_optim.Lion)
EMA = _reference(_EMA)

__all__ = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam", "Adadelta",
           "Lion", "EMA", "kernels"]
