"""fastoptim.distributed: optimizer state sharded over MPI ranks (ZeRO stage 1) with the bits
of one process. Needs the ``mpi`` extra (``pip install 'fastoptim[mpi]'``: mpi4py and MPICH);
mpi4py is imported when a :class:`ShardedOptimizer` is built, not before.

    # mpiexec -n 4 python train.py
    from mpi4py import MPI
    import fastoptim as fo
    opt = fo.distributed.ShardedOptimizer(fo.Adam, params, comm=MPI.COMM_WORLD, lr=1e-3)
    opt.step(grads)          # this rank's grads: averaged, the shard stepped, params gathered
"""

from .collective import RankError
from .layout import ALIGN, Piece, shard_bounds, shard_layout
from .sharded import ShardedOptimizer, average_grads

__all__ = ["ShardedOptimizer", "average_grads", "RankError", "ALIGN", "Piece", "shard_bounds",
           "shard_layout"]
