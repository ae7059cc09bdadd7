"""fastoptim: the optimizers of the deep-learning frameworks for NumPy arrays.

    import numpy as np, fastoptim as fo
    W = np.zeros((784, 10), np.float32)
    opt = fo.Adam([W], lr=1e-3)
    opt.step([dW])          # W updated in place, in one native call, GIL released

Every per-element update runs in a C++ core (SIMD picked at run time, optional OpenMP
threads); ``fastoptim.reference`` holds the same optimizers in pure NumPy, with the same bits.
"""

from . import _native  # noqa: F401  (fails early with a clear ImportError if not built)
from ._runtime import (
    _init_from_env,
    available_isas,
    compiled_isas,
    get_num_threads,
    has_openmp,
    isa,
    set_num_threads,
    use_isa,
)
from ._version import __version__
from .checkpoint import load, save
from .clip import clip_grad_norm_, clip_grad_value_, grad_norm
from .ema import EMA
from .optim import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Lion,
    NAdam,
    Optimizer,
    RAdam,
    RMSprop,
)

_init_from_env()

from . import (  # noqa: E402
    distributed,
    functional,
    keras,
    lowp,
    lr_scheduler,
    optax,
    reference,
    schedules,
)

__all__ = [
    "__version__",
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "Adagrad",
    "RMSprop",
    "Adamax",
    "NAdam",
    "RAdam",
    "Adadelta",
    "Lion",
    "reference",
    "schedules",
    "lr_scheduler",
    "functional",
    "keras",
    "optax",
    "lowp",
    "distributed",
    "clip_grad_norm_",
    "clip_grad_value_",
    "grad_norm",
    "EMA",
    "save",
    "load",
    "available_isas",
    "compiled_isas",
    "isa",
    "use_isa",
    "get_num_threads",
    "set_num_threads",
    "has_openmp",
]
