"""ISA selection and threads: thin, documented wrappers over the native core."""

from __future__ import annotations

import os

from . import _native

__all__ = [
    "available_isas",
    "compiled_isas",
    "get_num_threads",
    "has_openmp",
    "isa",
    "set_num_threads",
    "use_isa",
]


def compiled_isas() -> list[str]:
    """ISA paths compiled into this build, worst to best (e.g. scalar, sse2, avx2, avx512)."""
    return list(_native.compiled_isas())


def available_isas() -> list[str]:
    """The compiled ISA paths this CPU can run, worst to best.

    ``scalar`` is the ground truth (vectorizer off); every path gives the same bits.
    """
    return list(_native.available_isas())


def isa() -> str:
    """The ISA path later steps run on."""
    return str(_native.isa())


def use_isa(name: str) -> None:
    """Run every later step on ISA path ``name`` (one of :func:`available_isas`).

    Chosen at import as the best supported path, or by the ``FASTOPTIM_ISA`` environment
    variable. Raises ``ValueError`` for an unknown path or one this CPU cannot run.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    _native.use_isa(name)


def get_num_threads() -> int:
    """Threads a step may use (1 without OpenMP). Small steps use one thread regardless.

    In a child made by ``os.fork()`` (or a fork-context ``multiprocessing`` worker) this is 1
    until the child calls :func:`set_num_threads`; the parent's setting is unchanged.
    """
    return int(_native.get_num_threads())


def set_num_threads(n: int) -> None:
    """Set the threads a step may use (>= 1). Results are identical for every thread count.

    This is fastoptim's own setting: it does not change OpenMP's global default used by other
    libraries in the process.

    Fork: a forked child starts at 1 thread, because OpenMP's thread team stays in the parent
    (GNU OpenMP's team does not survive ``fork``; using it there would hang). Calling this in
    the child turns threads back on: its threaded steps then run on threads started for each
    step instead of OpenMP's team, with the same split and the same bits.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    _native.set_num_threads(n)


def has_openmp() -> bool:
    """Whether this build runs steps on several threads (OpenMP found at build time)."""
    return bool(_native.has_openmp())


def _init_from_env() -> None:
    forced = os.environ.get("FASTOPTIM_ISA")
    if forced:
        try:
            _native.use_isa(forced)
        except ValueError as e:
            raise ImportError(f"FASTOPTIM_ISA={forced!r}: {e}") from None
    threads = os.environ.get("FASTOPTIM_NUM_THREADS")
    if threads:
        try:
            set_num_threads(int(threads))
        except ValueError as e:
            raise ImportError(f"FASTOPTIM_NUM_THREADS={threads!r}: {e}") from None
