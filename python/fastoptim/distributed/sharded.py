"""``ShardedOptimizer``: any fastoptim optimizer with its state sharded over MPI ranks (ZeRO
stage 1), giving every rank the bits one process would compute.

A step, on every rank (each arrow communicates, on a duplicate of the caller's communicator):

1. check this rank's grads and the options, and compute the coefficient rows (schedules
   called) — everything that can fail — then -> agree (one small allreduce: any rank's error
   is raised on every rank before any data moves; the None grads must be the same everywhere);
2. -> exchange grads (point to point, straight from the arrays: rank r receives every rank's
   grads for its shard only, the volume of a reduce-scatter) and average them in the fixed
   order of :func:`average_grads`;
3. with ``clip_norm`` or a non-finite policy: -> allgather the shard's per-block float64 sums
   of squares, combined per param in block order (one process's bits, see layout.py);
4. step the shard with the optimizer's native kernels (the same coefficients, stochastic
   rounding keyed by the global param index and element offset);
5. -> gather the updated params (point to point, received straight into every rank's arrays).
"""
from __future__ import annotations

import contextlib
import math
import time
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import _native
from ..lowp.dtypes import BLOCK, bfloat16
from ..lowp.quantized import Quantized
from ..optim.base import Optimizer
from ..optim.checks import param_label
from ..optim.precision import _order
from ..reference.storage import flat as _flat  # 1-D view; callers checked contiguity
from . import collective
from .layout import Piece, shard_layout

__all__ = ["ShardedOptimizer", "average_grads"]

_POLICY_OPTIONS = ("clip_norm", "nonfinite")
_GRADS, _PARAMS = 1, 2  # message tags


def _mean_into(out: np.ndarray, parts: list[np.ndarray], acc: np.ndarray) -> None:
    """out = (sum of parts in order, in float64) / len(parts), rounded once to out's dtype
    (1-D arrays; natively for float32/float64, with NumPy's bits; ``acc``: float64 scratch of
    out's size for 16-bit grads)."""
    if out.dtype == np.float32 or out.dtype == np.float64:
        _native.mean_into(out, parts)
        return
    acc = acc[:out.size]
    # an overflow rounds to inf, as the native stores do: no warning (which a rank that turned
    # warnings into errors would raise alone, after the others moved on)
    with np.errstate(over="ignore", invalid="ignore"):
        np.copyto(acc, parts[0], casting="unsafe")
        for part in parts[1:]:
            np.add(acc, part, out=acc, casting="unsafe")
        np.divide(acc, len(parts), out=acc)
        np.copyto(out, acc, casting="unsafe")


def average_grads(grads_per_rank: list[list[np.ndarray | None]]) -> list[np.ndarray | None]:
    """The grads a :class:`ShardedOptimizer` steps with (``average_grads=True``), computed in
    one process from every rank's grads: per element, the float64 sum over ranks in rank order
    (0, 1, ..., N-1), divided by N, rounded once to the grads' dtype. The same bits whatever
    the timing, the world size's shard layout or the machine. None grads stay None (they must
    be None on every rank)."""
    if not grads_per_rank:
        raise ValueError("grads_per_rank is empty")
    n = len(grads_per_rank[0])
    if any(len(g) != n for g in grads_per_rank):
        raise ValueError("every rank must give the same number of grads")
    out: list[np.ndarray | None] = []
    for i in range(n):
        parts = [g[i] for g in grads_per_rank]
        if all(p is None for p in parts):
            out.append(None)
            continue
        if any(p is None for p in parts):
            raise ValueError(f"grads[{i}] is None on some ranks only")
        parts = [np.asarray(p) for p in parts]
        avg = np.empty_like(parts[0])
        _mean_into(_flat(avg), [_flat(p) for p in parts],
                   np.empty(avg.size if avg.itemsize == 2 else 0, np.float64))
        out.append(avg)
    return out


def _grad_dtypes(opt: Optimizer, p: np.ndarray) -> tuple[np.dtype, ...]:
    """The grad dtypes the native step accepts for param ``p`` (cpp/bindings/register_plan)."""
    allowed = [p.dtype]
    if opt._precision.wants_master(p):
        allowed.append(np.dtype(np.float32))
    if p.dtype == np.float32:
        allowed.append(np.dtype(np.float16))
        with contextlib.suppress(ImportError):  # without ml_dtypes there are no bfloat16 grads
            allowed.append(bfloat16())
    return tuple(allowed)


class _Exchange:
    """The messages of one step for one pattern of None grads and grad dtypes (cached: the
    pattern rarely changes). Point to point on the optimizer's own communicator, straight from
    and into the arrays: rank s sends rank r each of r's pieces of its grads, and each of its
    own updated pieces of the params; MPI's non-overtaking order between two ranks matches
    every message to the receive posted for it. No packing, and the params are gathered in
    place."""

    __slots__ = ("dtypes", "grad_bufs", "mine", "param_recvs", "param_sends", "send_pieces",
                 "shard_grads", "stepped")

    def __init__(self, sharded: ShardedOptimizer, stepped: list[bool], dtypes: list):
        world, rank = sharded.world_size, sharded.rank
        layout, flats = sharded._layout, sharded._flats
        self.stepped, self.dtypes = stepped, dtypes

        def live(pieces):
            return [p for p in pieces if stepped[p.param] and p.stop > p.start]

        self.mine = live(layout[rank])
        # grads: to each other rank, its pieces (views made per step: the grads are new
        # arrays every step); from each other rank, into one buffer per (piece, rank)
        self.send_pieces = [(r, live(layout[r])) for r in range(world) if r != rank]
        self.grad_bufs = {p: [None if r == rank else np.empty(p.stop - p.start, dtypes[p.param])
                              for r in range(world)] for p in self.mine}
        self.shard_grads = {p: np.empty(p.stop - p.start, dtypes[p.param]) for p in self.mine}
        # params: this rank's pieces to every other rank; every other rank's pieces into the
        # params themselves
        self.param_sends = [(r, [_bytes(flats[p.param][p.start:p.stop]) for p in self.mine])
                            for r in range(world) if r != rank]
        self.param_recvs = [(r, [_bytes(flats[p.param][p.start:p.stop]) for p in live(layout[r])])
                            for r in range(world) if r != rank]


def _bytes(a: np.ndarray) -> list:
    """An mpi4py buffer spec of a 1-D contiguous array's bytes (any dtype, bfloat16 too)."""
    return [a.view(np.uint8), collective.mpi().BYTE]


class ShardedOptimizer:
    """A fastoptim optimizer whose state is sharded over the ranks of an MPI communicator
    (ZeRO stage 1, as DeepSpeed's and torch's ZeroRedundancyOptimizer): every rank holds the
    full params (replicas) and the state of its shard only, ~1/N of the whole.

    ``ShardedOptimizer(fo.Adam, params, comm=MPI.COMM_WORLD, lr=1e-3, ...)``: the optimizer
    class and its arguments, as for one process (params as a list, dict or param groups; every
    option, ``master_weights``, ``state_dtype``, ``rounding``, ``clip_norm``, ``nonfinite``
    included). Collective: every rank must pass the same param structure (shapes, dtypes,
    memory orders, names), options and param values; the first difference is a ValueError on
    every rank.

    ``step(grads)`` (collective) takes this rank's grads. With ``average_grads=True`` (default)
    they are averaged over ranks in a fixed order (:func:`average_grads`); with False every
    rank must pass the same grads (already reduced; not checked). Each rank then updates its
    shard with the optimizer's kernels and the updated params are gathered into every rank's
    arrays in place. Result: each rank's params are bit for bit those of one process running
    the optimizer on the averaged grads, whatever the world size. ``clip_norm`` and
    ``nonfinite`` see the global grads (a global norm with one process's bits). A ``None``
    grad skips its param as in one process; it must be None on every rank.

    Errors (bad grads or options, a schedule that raises, a failed save) are raised on every
    rank — a rank that did not fail raises the same built-in exception type naming the rank
    that did (:class:`~fastoptim.distributed.collective.RankError` for other types) — and
    nothing changes anywhere.

    Shards: the params flattened in memory order and concatenated; rank r's shard starts near
    r/N of the total, cut at a param boundary or 16,384 elements into a param
    (:mod:`fastoptim.distributed.layout`). ``shard`` lists this rank's pieces.

    Checkpoints: :meth:`save`/:meth:`load` and :meth:`state_dict`/:meth:`load_state_dict` use
    one process's format (the file loads into the plain optimizer with ``fo.load``, and a
    checkpoint of N ranks into M ranks). ``state_dict`` gathers the whole state on the root
    (or every rank): that much memory, plus the pickled copy in transit.
    """

    def __init__(self, optimizer_class: type, params: Any, comm: Any, *,
                 average_grads: bool = True, **options: Any) -> None:
        comm = collective.check_comm(comm)
        #: The communicator given; the optimizer's own messages go over a duplicate of it
        #: (``comm.Dup()``), so they never mix with the caller's.
        self.comm = comm
        self._comm = comm.Dup()
        #: This process's rank in ``comm``, and the number of ranks.
        self.rank: int = comm.Get_rank()
        self.world_size: int = comm.Get_size()
        error: BaseException | None = None
        template = None
        try:
            if not (isinstance(optimizer_class, type) and issubclass(optimizer_class, Optimizer)):
                raise TypeError(f"optimizer_class must be a fastoptim optimizer class (e.g. "
                                f"fo.Adam), got {optimizer_class!r}")
            if optimizer_class._backend != "native":
                raise ValueError("ShardedOptimizer runs the native kernels; pass a class of "
                                 "fastoptim, not fastoptim.reference")
            if not isinstance(average_grads, (bool, np.bool_)):
                raise TypeError(f"average_grads must be a bool, got "
                                f"{type(average_grads).__name__}")
            # The full optimizer validates everything (it holds no state: state is made at the
            # first step) and keeps the user's param groups (schedulers change them).
            template = optimizer_class(params, **options)
        except Exception as e:  # every rank must hear of it
            error = e
        collective.agree(self._comm, error)
        self._template: Optimizer = template
        self._class = optimizer_class
        self.average_grads = bool(average_grads)
        self._params: list[np.ndarray] = template._params
        mismatch = collective.first_mismatch(self._comm.allgather(self._signature(options)))
        if mismatch:
            raise ValueError(mismatch)
        self._layout = shard_layout([p.size for p in self._params], self.world_size)
        self._flats = [_flat(p) for p in self._params]
        #: Steps skipped for non-finite grads (nonfinite="skip"), the same on every rank.
        self.skipped_steps = 0
        #: The global grads' 2-norm at the last step that computed it (clip_norm/nonfinite).
        self.last_grad_norm: float | None = None
        #: Where the last completed step's time went on this rank (seconds): "check" (grads,
        #: options, coefficients and the agreement), "exchange" (the grads' messages),
        #: "average", "policies" (the global norm), "step" (the shard's kernels), "gather"
        #: (the params' messages). Waiting for slower ranks counts where it happens.
        self.last_step_seconds: dict[str, float] = {}
        self._options = {k: v for k, v in options.items() if k not in _POLICY_OPTIONS}
        self._inner = self._make_inner()
        self._exchange: _Exchange | None = None
        self._grad_dtypes = [_grad_dtypes(template, p) for p in self._params]

    # ------------------------------------------------------------------ structure
    def _signature(self, options: Mapping[str, Any]) -> list[tuple[str, Any]]:
        t = self._template
        sig: list[tuple[str, Any]] = [("the optimizer", self._class.__name__),
                                      ("average_grads", self.average_grads)]
        for key in sorted(options):
            value = options[key]
            sig.append((f"option {key!r}", "a callable" if callable(value) else repr(value)))
        sig.append(("the number of param groups", len(t.param_groups)))
        i = 0
        for gi, group in enumerate(t.param_groups):
            sig.append((f"the number of params in param_groups[{gi}]", len(group["params"])))
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    v = group[key]
                    sig.append((f"param_groups[{gi}][{key!r}]",
                                "a callable" if callable(v) else repr(v)))
            for _ in group["params"]:
                p, label = self._params[i], param_label(t._names[i], i)
                sig.append((f"the name of param {i}", t._names[i]))
                sig.append((f"the shape of param {label}", tuple(p.shape)))
                sig.append((f"the dtype of param {label}", str(p.dtype)))
                sig.append((f"the memory order of param {label}", _order(p)))
                sig.append((f"the values of param {label} (crc32; replicas must start equal: "
                            "broadcast them from one rank, e.g. comm.Bcast(p, root=0))",
                            zlib.crc32(_flat(p).view(np.uint8)) if p.size else 0))
                i += 1
        return sig

    def _inner_groups(self, rank: int) -> tuple[list[dict[str, Any]], list[Piece]]:
        """The param groups of rank ``rank``'s shard optimizer: the groups with pieces there,
        their options, the pieces (views) as params."""
        t = self._template
        groups: list[dict[str, Any]] = []
        current = -1
        pieces = self._layout[rank]
        for piece in pieces:
            gi = t._group_of[piece.param]
            if gi != current:
                opts = {k: v for k, v in t.param_groups[gi].items()
                        if k not in ("params", "param_names")}
                groups.append({**opts, "params": [], "_group": gi})
                current = gi
            groups[-1]["params"].append(piece)
        return groups, pieces

    def _make_inner(self) -> Optimizer | None:
        groups, pieces = self._inner_groups(self.rank)
        if not pieces:
            return None
        flats = self._flats
        self._inner_group_of = [g.pop("_group") for g in groups]
        for g in groups:
            g["params"] = [flats[p.param][p.start:p.stop] for p in g["params"]]
        inner = self._class(groups, **self._options)
        inner._element_ids = ([p.param for p in pieces], [p.start for p in pieces])
        return inner

    # ------------------------------------------------------------------ properties
    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The param groups (full params), as in one process: schedulers and users change
        options here (the same way on every rank), and each step passes them to the shard."""
        return self._template.param_groups

    @property
    def defaults(self) -> dict[str, Any]:
        return self._template.defaults

    @property
    def optimizer_class(self) -> type:
        return self._class

    @property
    def local_optimizer(self) -> Optimizer | None:
        """This rank's optimizer over its pieces (1-D views into the params), or None if the
        shard is empty (more ranks than cuts)."""
        return self._inner

    @property
    def shard(self) -> list[Piece]:
        """This rank's pieces: (param index, start, stop) in each param's memory order."""
        return list(self._layout[self.rank])

    @property
    def clip_norm(self) -> float | None:
        """Clip the global grads' 2-norm (one process's ``clip_norm``)."""
        return self._template.clip_norm

    @clip_norm.setter
    def clip_norm(self, value: float | None) -> None:
        self._template.clip_norm = value

    @property
    def nonfinite(self) -> str:
        """One process's ``nonfinite`` policy over the global grads."""
        return self._template.nonfinite

    @nonfinite.setter
    def nonfinite(self, value: str) -> None:
        self._template.nonfinite = value

    def state_nbytes(self) -> int:
        """Bytes of state this rank holds (its shard's buffers and masters)."""
        return 0 if self._inner is None else self._inner.state_nbytes()

    def __reduce__(self):
        raise TypeError("a ShardedOptimizer cannot be pickled or copied (it holds an MPI "
                        "communicator); save a checkpoint with save() or state_dict()")

    def __repr__(self) -> str:
        return (f"ShardedOptimizer({self._class.__name__}, rank {self.rank} of "
                f"{self.world_size}, {len(self._layout[self.rank])} piece(s))\n"
                + repr(self._template))

    # ------------------------------------------------------------------------ step
    def _check_grads(self, grads: Any) -> list:
        t = self._template
        grads = t._grad_list(grads)
        if len(grads) != len(self._params):
            raise ValueError(f"got {len(grads)} grads for {len(self._params)} params")
        out = []
        for i, (g, p) in enumerate(zip(grads, self._params)):
            if g is None:
                out.append(None)
                continue
            if not isinstance(g, np.ndarray):
                if hasattr(g, "__dlpack__"):
                    g = np.from_dlpack(g)
                else:
                    raise TypeError(f"grad of param {param_label(t._names[i], i)}: expected a "
                                    f"numpy.ndarray, got {type(g).__name__}")
            if g.shape != p.shape:
                raise ValueError(f"grad of param {param_label(t._names[i], i)} has shape "
                                 f"{g.shape}, the param {p.shape}")
            if g.dtype not in self._grad_dtypes[i]:
                raise TypeError(f"grad of param {param_label(t._names[i], i)} has dtype "
                                f"{g.dtype}; expected "
                                f"{' or '.join(str(d) for d in self._grad_dtypes[i])}")
            contiguous = g.flags.f_contiguous if _order(p) == "F" else g.flags.c_contiguous
            if not contiguous:
                raise ValueError(f"grad of param {param_label(t._names[i], i)} is not "
                                 f"contiguous in the param's memory order ({_order(p)})")
            out.append(g)
        return out

    def _sync_options(self) -> None:
        """The user's group options (checked by the template) into the shard's groups."""
        inner = self._inner
        if inner is None:
            return
        user = self._template.param_groups
        for group, gi in zip(inner.param_groups, self._inner_group_of):
            src = user[gi]
            for key, value in src.items():
                if key != "params" and key != "param_names" and group.get(key) is not value:
                    group[key] = value

    def _exchange_for(self, grads: list) -> _Exchange:
        stepped = [g is not None for g in grads]
        dtypes = [None if g is None else g.dtype for g in grads]
        ex = self._exchange
        if ex is None or ex.stepped != stepped or ex.dtypes != dtypes:
            ex = self._exchange = _Exchange(self, stepped, dtypes)
            # float64 sums of 16-bit grads (float32/float64 ones are averaged natively)
            self._acc = np.empty(max([p.stop - p.start for p in ex.mine
                                      if dtypes[p.param].itemsize == 2] or [0]), np.float64)
        return ex

    def step(self, grads: Any) -> bool:
        """Collective: average the grads over ranks, step this rank's shard, gather the params.
        Returns False (on every rank) when the step was skipped (``nonfinite="skip"``)."""
        MPI = collective.mpi()
        clock = time.perf_counter
        t0 = clock()
        error = None
        prepared = None
        mask = None
        try:
            grads = self._check_grads(grads)
            mask = np.packbits(np.array([g is None for g in grads], bool))
            self._template._check_groups()
            self._sync_options()
            if self._inner is not None:
                self._inner._begin_step()
                prepared = self._inner._prepare_step()
        except Exception as e:  # every rank must hear of it
            error = e
        differ = collective.agree(self._comm, error,
                                  mask if mask is not None
                                  else np.zeros((len(self._params) + 7) // 8, np.uint8))
        if differ is not None:
            i = differ
            raise ValueError(f"the grad of param {param_label(self._template._names[i], i)} is "
                             "None on some ranks but not on others: every rank must skip the "
                             "same params")
        ex = self._exchange_for(grads)
        comm = self._comm
        t1 = clock()
        t2 = t1
        # 2. this shard's grads
        shard_grads: dict[int, np.ndarray] = {}
        if self.average_grads and self.world_size > 1:
            requests = []
            for bufs in ex.grad_bufs.values():
                for r, buf in enumerate(bufs):
                    if buf is not None:
                        requests.append(comm.Irecv(_bytes(buf), source=r, tag=_GRADS))
            for r, pieces in ex.send_pieces:
                for p in pieces:
                    requests.append(comm.Isend(
                        _bytes(_flat(grads[p.param])[p.start:p.stop]), dest=r, tag=_GRADS))
            MPI.Request.Waitall(requests)
            t2 = clock()
            for p, bufs in ex.grad_bufs.items():
                own = _flat(grads[p.param])[p.start:p.stop]
                out = ex.shard_grads[p]
                _mean_into(out, [own if b is None else b for b in bufs], self._acc)
                shard_grads[p.param] = out
        else:
            for p in self._layout[self.rank]:
                if grads[p.param] is not None:
                    shard_grads[p.param] = _flat(grads[p.param])[p.start:p.stop]
        t3 = clock()
        # 3. the policies over the global grads
        scale = 1.0
        t = self._template
        if t._clip_norm is not None or t._nonfinite != "propagate":
            scale = self._global_scale(grads, ex, shard_grads)
            if scale is None:
                self.skipped_steps += 1
                return False
        t4 = clock()
        # 4. the shard's step
        if self._inner is not None:
            inner_grads = [None if grads[p.param] is None else
                           shard_grads[p.param] if p.param in shard_grads else
                           _flat(grads[p.param])[p.start:p.stop]  # an empty piece
                           for p in self._layout[self.rank]]
            plan, rows, keys = prepared
            self._inner._run_step(plan, rows, keys, inner_grads, scale)
            self._inner._commit_step()
        t5 = clock()
        # 5. the params, gathered in place
        if self.world_size > 1:
            requests = [comm.Irecv(buf, source=r, tag=_PARAMS)
                        for r, bufs in ex.param_recvs for buf in bufs]
            requests += [comm.Isend(buf, dest=r, tag=_PARAMS)
                         for r, bufs in ex.param_sends for buf in bufs]
            MPI.Request.Waitall(requests)
        t6 = clock()
        self.last_step_seconds = {"check": t1 - t0, "exchange": t2 - t1, "average": t3 - t2,
                                  "policies": t4 - t3, "step": t5 - t4, "gather": t6 - t5}
        return True

    def _global_scale(self, grads: list, ex: _Exchange, shard_grads: dict) -> float | None:
        """One process's ``_grad_scale`` over the global grads: per-block sums of squares of
        every shard, gathered, combined per param in block order, then fsum over params."""
        MPI = collective.mpi()
        t = self._template
        block = _native.reduce_block
        mine = [shard_grads[p.param] for p in ex.mine]
        local = np.array(_native.grad_reduce(mine, "sumsq", blocks=True) if mine else [],
                         np.float64)
        counts = [sum(-(-(p.stop - p.start) // block) for p in self._layout[r]
                      if ex.stepped[p.param]) for r in range(self.world_size)]
        allparts = np.empty(sum(counts), np.float64)
        self._comm.Allgatherv(local, [allparts, (counts, np.cumsum([0, *counts[:-1]]).tolist()),
                                     MPI.DOUBLE])
        sums: dict[int, float] = {}
        k = 0
        values = allparts.tolist()
        for r in range(self.world_size):
            for p in self._layout[r]:
                if not ex.stepped[p.param]:
                    continue
                o = sums.get(p.param, 0.0)
                for _ in range(-(-(p.stop - p.start) // block)):
                    o += values[k]
                    k += 1
                sums[p.param] = o
        order = [i for i in range(len(grads)) if ex.stepped[i]]
        parts = [sums.get(i, 0.0) for i in order]
        total_sq = math.fsum(parts)
        if not math.isfinite(total_sq) and t._nonfinite != "propagate":
            suspects = {i for i, v in zip(order, parts) if not math.isfinite(v)}
            pieces = [p for p in ex.mine if p.param in suspects]
            counts_local = _native.grad_reduce([shard_grads[p.param] for p in pieces],
                                               "nonfinite") if pieces else []
            found: dict[int, int] = {}
            for rank_counts in self._comm.allgather(
                    [(p.param, int(c)) for p, c in zip(pieces, counts_local)]):
                for i, c in rank_counts:
                    found[i] = found.get(i, 0) + c
            bad = sorted((i, c) for i, c in found.items() if c)
            if bad:
                if t._nonfinite == "skip":
                    return None
                i, count = bad[0]
                raise FloatingPointError(
                    f"grad of param {param_label(t._names[i], i)} has {count} non-finite "
                    "value(s) (NaN or inf) after averaging over ranks; nothing was changed on "
                    "any rank (nonfinite='raise')")
        self.last_grad_norm = math.sqrt(total_sq)
        if t._clip_norm is None:
            return 1.0
        coef = t._clip_norm / (self.last_grad_norm + 1e-6)
        return coef if not coef >= 1.0 else 1.0

    # ----------------------------------------------------------------- state dicts
    def _local_state(self) -> list[tuple[int, int, int, dict[str, Any]]]:
        inner = self._inner
        if inner is None:
            return []
        return [(p.param, p.start, p.stop, inner._param_state(j))
                for j, p in enumerate(self._layout[self.rank])]

    def state_dict(self, root: int | None = None) -> dict[str, Any] | None:
        """Collective: the whole optimizer's state dict, in one process's format (it loads into
        the plain optimizer). ``root=None``: returned on every rank (every rank then holds the
        whole state); ``root=k``: on rank k only (None elsewhere)."""
        local = self._local_state()
        if root is None:
            gathered = self._comm.allgather(local)
        else:
            gathered = self._comm.gather(local, root=root)
            if self.rank != root:
                return None
        sd = self._template.state_dict()  # options and indices; the template has no state
        pieces: dict[int, list] = {}
        for rank_state in gathered:
            for i, start, _, st in rank_state:
                pieces.setdefault(i, []).append((start, st))
        state: dict[int, dict[str, Any]] = {}
        for i, parts in sorted(pieces.items()):
            parts.sort(key=lambda x: x[0])
            if not parts[0][1]:
                continue
            p = self._params[i]
            entry: dict[str, Any] = {"step": parts[0][1]["step"]}
            for name in parts[0][1]:
                if name == "step":
                    continue
                bufs = [st[name] for _, st in parts]
                if not isinstance(bufs[0], (np.ndarray, Quantized)):
                    entry[name] = bufs[0]  # a per-param number (NAdam's mu_product): the same
                    continue               # in every piece
                if isinstance(bufs[0], Quantized):
                    codes = np.concatenate([b.codes.ravel() for b in bufs])
                    scales = np.concatenate([b.scales for b in bufs])
                    entry[name] = Quantized(codes.reshape(p.shape, order=_order(p)), scales)
                else:
                    flat = np.concatenate([b.ravel() for b in bufs])
                    entry[name] = flat.reshape(p.shape, order=_order(p))
            state[i] = entry
        sd["state"] = state
        return sd

    def _slice_state(self, full: dict[int, dict[str, Any]], ranks) -> list[dict[int, Any]]:
        """For each rank of ``ranks``, its shard optimizer's state from the whole (validated)
        state."""
        out = []
        for r in ranks:
            st: dict[int, dict[str, Any]] = {}
            for j, p in enumerate(self._layout[r]):
                entry = full.get(p.param)
                if not entry:
                    continue
                e = {"step": entry["step"]}
                for name, buf in entry.items():
                    if name == "step":
                        continue
                    if not isinstance(buf, (np.ndarray, Quantized)):
                        e[name] = buf
                    elif isinstance(buf, Quantized):
                        b0, b1 = p.start // BLOCK, -(-p.stop // BLOCK)
                        e[name] = Quantized(_flat(buf.codes)[p.start:p.stop].copy(),
                                            buf.scales[b0:b1].copy())
                    else:
                        e[name] = _flat(np.asarray(buf))[p.start:p.stop].copy()
                st[j] = e
            out.append(st)
        return out

    def _inner_state_dict(self, rank: int, state: dict, groups: list[dict]) -> dict[str, Any]:
        inner_groups, _ = self._inner_groups(rank)
        sd_groups = []
        start = 0
        for g in inner_groups:
            gi = g["_group"]
            opts = {k: v for k, v in groups[gi].items() if k not in ("params", "param_names")}
            n = len(g["params"])
            sd_groups.append({**opts, "params": list(range(start, start + n))})
            start += n
        return {"optimizer": self._class.__name__, "state": state, "param_groups": sd_groups}

    def load_state_dict(self, state_dict: Mapping[str, Any] | None, root: int | None = None
                        ) -> None:
        """Collective: restore a whole-optimizer state dict (one process's format; from
        :meth:`state_dict`, a plain optimizer, or a checkpoint of any world size).
        ``root=None``: every rank passes it; ``root=k``: rank k does (others may pass None) and
        sends each rank its part. Validated completely (as one process validates it) before
        anything changes, on every rank."""
        t = self._template
        saved_groups = [{k: v for k, v in g.items() if k != "params"} for g in t.param_groups]
        error = None
        parts = groups = None
        holder = root is None or self.rank == root
        if holder:
            try:
                t.load_state_dict(state_dict)  # every check, with one process's messages
                full = {i: t._param_state(i) for i in range(len(self._params))}
                groups = [{k: v for k, v in g.items() if k != "params"} for g in t.param_groups]
                parts = self._slice_state(full, [self.rank] if root is None else
                                          range(self.world_size))
                if root is None:
                    parts = parts[0]
            except Exception as e:  # every rank must hear of it
                error = e
            finally:
                self._clear_template()
        try:
            collective.agree(self._comm, error)
        except BaseException:
            if holder:
                self._restore_groups(saved_groups)
            raise
        if root is not None:
            parts = self._comm.scatter(parts, root=root)
            groups = self._comm.bcast(groups, root=root)
        backup = None if self._inner is None else self._inner.state_dict()
        error = None
        try:
            self._restore_groups(groups)
            if self._inner is not None:
                self._inner.load_state_dict(self._inner_state_dict(self.rank, parts, groups))
        except Exception as e:  # every rank must hear of it
            error = e
        try:
            collective.agree(self._comm, error)
        except BaseException:
            self._restore_groups(saved_groups)
            if backup is not None:
                self._inner.load_state_dict(backup)
            raise
        self._exchange = None

    def _clear_template(self) -> None:
        t = self._template
        n = len(self._params)
        t._buffers = [{} for _ in range(n)]
        t._steps = [0] * n
        t._fresh = [True] * n
        t._plan = None
        t._fast = None

    def _restore_groups(self, groups: list[dict[str, Any]]) -> None:
        for current, saved in zip(self._template.param_groups, groups):
            params = current["params"]
            current.clear()
            current.update(saved)
            current["params"] = params
        self._template._group_cache = []
        self._sync_options()

    # ----------------------------------------------------------------- checkpoints
    def save(self, path) -> None:
        """Collective: write one checkpoint file in one process's format (``fo.load`` reads it
        into the plain optimizer; :meth:`load` into any world size). The whole state is gathered
        on rank 0, which writes the file (durably, as :func:`fastoptim.save`)."""
        from ..checkpoint import write_state_dict

        sd = self.state_dict(root=0)
        error = None
        if self.rank == 0:
            try:
                write_state_dict(sd, path, self.skipped_steps)
            except Exception as e:  # every rank must hear of it
                error = e
        collective.agree(self._comm, error)

    def load(self, path) -> None:
        """Collective: restore a checkpoint (from :meth:`save` with any number of ranks, or from
        :func:`fastoptim.save` of the plain optimizer). Rank 0 reads the file and sends each
        rank its part; validated completely before anything changes on any rank."""
        from ..checkpoint import read_state_dict

        sd = None
        skipped = 0
        error = None
        if self.rank == 0:
            try:
                sd, skipped = read_state_dict(path, self._template)
            except Exception as e:  # every rank must hear of it
                error = e
        collective.agree(self._comm, error)
        self.load_state_dict(sd, root=0)
        self.skipped_steps = self._comm.bcast(skipped, root=0)
