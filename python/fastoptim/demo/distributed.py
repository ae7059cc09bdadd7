"""``mpiexec -n 2 python -m fastoptim.demo --distributed``: the digits MLP trained data-parallel
with :class:`fastoptim.distributed.ShardedOptimizer` (Adam's state sharded over the ranks), and
the same training in one process beside it, to show that the two give the same losses and the
same bits.

Every rank holds the model (replicas from the same seed) and draws the same shuffled
mini-batches; rank r computes the grads of its slice of each batch
(``np.array_split(batch, N)[r]``), and the sharded step averages them over the ranks. Rank 0
also runs one process's version of it: the N slices' grads computed one after the other,
averaged with :func:`fastoptim.distributed.average_grads`, and a plain ``fo.Adam`` step.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

import fastoptim as fo

from .data import load_digits
from .models import MLP
from .train import evaluate

__all__ = ["run_distributed"]


def run_distributed(*, epochs: int = 10, batch_size: int = 64, lr: float = 3e-3, seed: int = 0,
                    echo: Callable[..., None] = print) -> dict[str, object]:
    """Train the MLP data-parallel on the ranks of ``MPI.COMM_WORLD`` (collective); rank 0
    prints each epoch's training loss from the sharded run and from one process, and whether
    the final params are identical. Returns (on every rank) the sharded run's losses, one
    process's (rank 0; None elsewhere), and the state bytes per rank."""
    from ..distributed.collective import mpi

    MPI = mpi()
    comm = MPI.COMM_WORLD
    rank, world = comm.Get_rank(), comm.Get_size()
    say = echo if rank == 0 else (lambda *a, **k: None)
    data = load_digits(seed=seed)

    def new_model() -> MLP:
        return MLP(data.n_features, data.n_classes, hidden=128, l2=1e-4, seed=seed)

    model = new_model()
    opt = fo.distributed.ShardedOptimizer(fo.Adam, model.params, comm=comm, lr=lr)
    alone = new_model() if rank == 0 else None
    alone_opt = fo.Adam(alone.params, lr=lr) if alone is not None else None
    say(f"== data-parallel Adam (lr {lr:g}, batch {batch_size}) on {world} rank(s): the MLP's "
        f"{sum(p.size for p in model.params.values())} params, state sharded ==")
    say("   each rank: its slice of every batch; grads averaged over ranks in rank order; "
        "rank 0 also trains one process on the same averaged grads")
    rng = np.random.default_rng(seed)
    n = len(data.y_train)
    losses, alone_losses = [], []
    names = list(model.params)
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        perm = rng.permutation(n)
        for start in range(0, n, batch_size):
            parts = np.array_split(perm[start:start + batch_size], world)
            _, grads = model.loss_and_grads(data.X_train[parts[rank]], data.y_train[parts[rank]])
            opt.step(grads)
            if alone is not None:
                per_rank = [[g[k] for k in names] for g in
                            (alone.loss_and_grads(data.X_train[i], data.y_train[i])[1]
                             for i in parts)]
                alone_opt.step(dict(zip(names, fo.distributed.average_grads(per_rank))))
        losses.append(evaluate(model, data.X_train, data.y_train)[0])
        if alone is not None:
            alone_losses.append(evaluate(alone, data.X_train, data.y_train)[0])
            say(f"   epoch {epoch:2d}: train loss {losses[-1]:.6f} sharded, "
                f"{alone_losses[-1]:.6f} one process")
    took = time.perf_counter() - t0
    state = comm.gather(opt.state_nbytes(), root=0)
    if rank == 0:
        same = all(np.array_equal(model.params[k], alone.params[k]) for k in names)
        total = alone_opt.state_nbytes()
        say(f"   params after {epochs} epochs identical to one process: "
            f"{'yes' if same else 'NO'}")
        say(f"   state bytes per rank: {', '.join(str(b) for b in state)} (one process: "
            f"{total}); test accuracy {evaluate(model, data.X_test, data.y_test)[1]:.3f}; "
            f"{took:.1f} s")
    return {"losses": losses, "one_process": alone_losses if rank == 0 else None,
            "state_nbytes": state}
