"""The MPI side of fastoptim.distributed: importing mpi4py, checking a communicator, and the
small collectives that keep ranks in agreement (an error on one rank raised on every rank,
replicas compared), so that no rank waits forever for another that gave up.

Only :mod:`mpi4py` is imported here, and only when a sharded optimizer is built.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

__all__ = ["mpi", "check_comm", "agree", "first_mismatch", "RankError"]


def mpi():
    """``mpi4py.MPI``, or an ImportError that names the extra to install."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(
            "fastoptim.distributed needs mpi4py and an MPI library: "
            "pip install 'fastoptim[mpi]' (mpi4py and MPICH from PyPI)") from e
    return MPI


def check_comm(comm: Any):
    """The communicator, checked: an mpi4py intracommunicator that is not COMM_NULL."""
    MPI = mpi()
    if not isinstance(comm, MPI.Intracomm):
        raise TypeError(f"comm must be an mpi4py intracommunicator (e.g. MPI.COMM_WORLD), got "
                        f"{type(comm).__module__}.{type(comm).__name__}")
    if comm == MPI.COMM_NULL:
        raise ValueError("comm is MPI.COMM_NULL")
    return comm


class RankError(RuntimeError):
    """Raised on the ranks that did not fail themselves, when another rank failed (the message
    names that rank and says what it raised)."""


def _like(kind: str, message: str) -> Exception:
    cls = getattr(builtins, kind, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__ == "builtins":
        try:
            return cls(message)
        except TypeError:
            pass
    return RankError(message)


def agree(comm, error: BaseException | None, extra: np.ndarray | None = None) -> np.ndarray | None:
    """Collective: every rank learns whether any rank failed, and raises if so.

    ``error``: this rank's exception (or None). A rank that failed re-raises its own; the
    others raise an exception of the same built-in type (RankError otherwise) whose message
    names the first failed rank and its message. Costs one small allreduce when no rank failed
    (two collectives when one did).

    ``extra``: a uint8 array every rank must hold equal (e.g. which grads are None); it travels
    in the same allreduce (as its max and 255 minus its min). Returns None when all ranks agree,
    else the index of the first bit that differs (``np.unpackbits`` order; nothing is raised for
    it: the caller words the error).
    """
    MPI = mpi()
    k = 0 if extra is None else extra.size
    buf = np.empty(1 + 2 * k, np.uint8)
    buf[0] = error is not None
    if k:
        buf[1:1 + k] = extra
        np.subtract(255, extra, out=buf[1 + k:], casting="unsafe")
    comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.MAX)
    if buf[0]:
        report = None if error is None else (type(error).__name__, str(error))
        reports = comm.allgather(report)
        if error is not None:
            raise error
        r = next(i for i, x in enumerate(reports) if x is not None)
        kind, message = reports[r]
        raise _like(kind, f"rank {r} failed ({kind}: {message}); nothing was changed on any "
                    "rank")
    if k:
        high, low = buf[1:1 + k], 255 - buf[1 + k:]
        differ = np.flatnonzero(np.unpackbits(high ^ low))
        if differ.size:
            return int(differ[0])
    return None


def first_mismatch(signatures: list[list[tuple[str, Any]]]) -> str | None:
    """Compares every rank's signature (a list of (what, value)) with rank 0's; the words for
    the first difference, or None."""
    ref = signatures[0]
    for r, sig in enumerate(signatures[1:], 1):
        for k in range(max(len(ref), len(sig))):
            if k >= len(ref) or k >= len(sig) or ref[k] != sig[k]:
                what = (ref[k] if k < len(ref) else sig[k])[0]
                mine = sig[k][1] if k < len(sig) else "(nothing)"
                theirs = ref[k][1] if k < len(ref) else "(nothing)"
                return (f"ranks must pass the same params and options: {what} is {mine!r} on "
                        f"rank {r} but {theirs!r} on rank 0")
    return None
