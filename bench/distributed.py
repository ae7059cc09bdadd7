"""ShardedOptimizer (fastoptim.distributed) at 1, 2 and 4 ranks on this machine: per-rank step
time, bytes communicated and state bytes, against one process's ``fo.Adam`` step measured in
the same run, plus a worked model for 100B parameters over 16 nodes.

    python bench/distributed.py [--sizes 1e6,1e7] [--ranks 1,2,4] [--markdown bench/distributed.md]

Launches ``mpiexec -n R python bench/distributed.py --worker ...`` for each R (one OpenMP
thread per rank). Each worker builds 8 float32 params of ``size / 8`` elements, takes 3
warm-up steps of ``ShardedOptimizer(fo.Adam)``, then times ``steps`` steps (a barrier before
each; the median over steps of the slowest rank's time). Rank 0's ``last_step_seconds`` says where
the time went (medians): "check" (grads, options, coefficients, the agreement allreduce),
"exchange" (the grads' messages), "average", "step" (the shard's Adam kernel), "gather" (the
params' messages). In the same run, rank 0 times the plain ``fo.Adam`` step on the full
params while the other ranks wait at a barrier.

"received / rank" counts the bytes a rank receives per step: every other rank's grads for its
shard ((N-1) x shard) and every other rank's updated params (total - shard); a rank sends as
much. On one machine the "network" is shared memory, and with 4 ranks on 2 cores the ranks
also share cores: the times show the method's overheads, not a cluster's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def worker(n: int, steps: int) -> None:
    from mpi4py import MPI

    import fastoptim as fo

    comm = MPI.COMM_WORLD
    rank, world = comm.Get_rank(), comm.Get_size()
    fo.set_num_threads(1)
    k = 8
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(n // k, dtype=np.float32) for _ in range(k)]
    opt = fo.distributed.ShardedOptimizer(fo.Adam, params, comm=comm, lr=1e-3)
    grng = np.random.default_rng(rank + 1)
    grads = [grng.standard_normal(p.size, dtype=np.float32) * np.float32(1e-2) for p in params]

    def timed(fn, reps):
        out = []
        for _ in range(reps):
            comm.Barrier()
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
        # the step is as slow as its slowest rank
        out = np.array(out)
        comm.Allreduce(MPI.IN_PLACE, out, op=MPI.MAX)
        return float(np.median(out))

    for _ in range(3):
        opt.step(grads)
    phases = {k: [] for k in ("check", "exchange", "average", "step", "gather")}

    def one_step():
        opt.step(grads)
        for k in phases:
            phases[k].append(opt.last_step_seconds[k])

    step_s = timed(one_step, steps)
    phase_s = {k: float(np.median(v)) for k, v in phases.items()}
    plain_s = None
    if rank == 0:
        copies = [p.copy() for p in params]
        plain = fo.Adam(copies, lr=1e-3)
        for _ in range(3):
            plain.step(grads)
        samples = []
        for _ in range(steps):
            t = time.perf_counter()
            plain.step(grads)
            samples.append(time.perf_counter() - t)
        plain_s = float(np.median(samples))
    comm.Barrier()
    total = sum(p.nbytes for p in params)
    shard = sum((p.stop - p.start) * 4 for p in opt.shard)
    received = (world - 1) * shard + (total - shard)
    state = comm.gather(opt.state_nbytes(), root=0)
    recv = comm.gather(received, root=0)
    if rank == 0:
        print(json.dumps({"n": n, "world": world, "step_s": step_s, "phases": phase_s,
                          "plain_s": plain_s, "state": state,
                          "received": recv, "plain_state": plain.state_nbytes()}))


def launch(n: int, world: int, steps: int) -> dict:
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep
                           + os.environ.get("PATH", ""))
    if mpiexec is None:
        raise SystemExit("mpiexec not found: pip install 'fastoptim[mpi]'")
    out = subprocess.run([mpiexec, "-n", str(world), sys.executable, __file__, "--worker",
                          str(n), "--steps", str(steps)], capture_output=True, text=True,
                         timeout=900, env={**os.environ, "OMP_NUM_THREADS": "1"}, check=False)
    if out.returncode:
        raise SystemExit(out.stdout + out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def worked_model() -> str:
    """State per rank and communication per step for 100B params over 16 nodes."""
    P, N = 100e9, 16
    q8 = 2 * (1 + 4 / 256)  # int8 Adam state: two moments, codes + one float32 scale per 256
    lines = [
        "## Worked model: 100B parameters, Adam, 16 nodes (one rank per node)",
        "",
        "ZeRO-1 shards only the optimizer state: every rank keeps the params and grads whole.",
        "Per step each rank sends and receives (N-1)/N of the grads (exchange) and (N-1)/N of",
        "the params (gather); the state never moves, so int8 state saves memory, not traffic.",
        "",
        "| params / grads | state | state per rank | params + grads per rank | "
        "sent per rank per step | at 100 Gb/s | at 400 Gb/s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for pg, pb, gb, extra in (("fp32 / fp32", 4, 4, 0), ("bf16 / bf16 + fp32 master", 2, 2, 4)):
        for state, sb in (("fp32", 8), ("int8", q8)):
            per_rank = P * (sb + extra) / N
            sent = (N - 1) / N * P * (pb + gb)
            lines.append(
                f"| {pg} | {state}{' + master' if extra else ''} | {per_rank / 1e9:.1f} GB | "
                f"{P * (pb + gb) / 1e9:.0f} GB | {sent / 1e9:.0f} GB | "
                f"{sent * 8 / 100e9:.0f} s | {sent * 8 / 400e9:.0f} s |")
    lines += [
        "",
        "Without sharding each node would hold the whole state: 800 GB (fp32) or 203 GB (int8);",
        "sharded over 16 nodes, 50 GB or 12.7 GB. The communication time is that of a",
        "reduce-scatter plus an all-gather of the model at the link's full rate (a lower bound:",
        "it ignores latency and assumes the two directions overlap); the shard's optimizer step",
        "itself moves 28 B/param of memory for fp32 Adam (175 GB per rank, about 1 s at 200",
        "GB/s), so at this scale the step is bound by the network, and halving the bytes of",
        "params and grads (bf16) halves it.",
    ]
    return "\n".join(lines)


def markdown(records: list[dict], cmdline: str) -> str:
    sys.path.insert(0, str(HERE))
    from run import machine_info

    import fastoptim as fo

    m = machine_info([fo.isa()])
    out = [
        "# ShardedOptimizer(fo.Adam) on this machine",
        "",
        f"`{cmdline}` on {m.get('cpu', '?')}, {m.get('cores', '?')} cores "
        f"(fastoptim {m.get('fastoptim', '?')}, ISA {m.get('isa', '?')}); one thread per rank; "
        "float32, 8 params. Times: medians over steps of the slowest rank. Ranks share this "
        "machine's memory bus and cores (4 ranks on 2 cores), so these are overheads, not a "
        "cluster's scaling.",
        "",
        "| elements | ranks | step / rank | one process's step | check | exchange | average | "
        "shard step | gather | received / rank | state / rank (one process) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in records:
        out.append(
            f"| {r['n']:.0e} | {r['world']} | {r['step_s'] * 1e3:.2f} ms | "
            f"{r['plain_s'] * 1e3:.2f} ms | "
            + " | ".join(f"{r['phases'][k] * 1e3:.2f}" for k in
                         ("check", "exchange", "average", "step", "gather"))
            + f" | {max(r['received']) / 1e6:.1f} MB | "
            f"{max(r['state']) / 1e6:.1f} MB ({r['plain_state'] / 1e6:.1f} MB) |")
    return "\n".join(out) + "\n\n" + worked_model() + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", type=int)
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--sizes", default="1e6,1e7")
    ap.add_argument("--ranks", default="1,2,4")
    ap.add_argument("--markdown")
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.steps)
        return
    records = []
    for n in (int(float(s)) for s in args.sizes.split(",")):
        for world in (int(w) for w in args.ranks.split(",")):
            r = launch(n, world, args.steps)
            records.append(r)
            print(f"{n:.0e} x {world} ranks: step {r['step_s'] * 1e3:.2f} ms (one process "
                  f"{r['plain_s'] * 1e3:.2f} ms), phases (ms) "
                  + ", ".join(f"{k} {v * 1e3:.2f}" for k, v in r["phases"].items())
                  + f", state/rank {max(r['state']) / 1e6:.1f} MB", flush=True)
    text = markdown(records, "python bench/distributed.py " + " ".join(argv or sys.argv[1:]))
    if args.markdown:
        Path(args.markdown).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
