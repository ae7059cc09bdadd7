"""Run under mpiexec by tests/test_distributed.py: ``worker.py SCENARIO [ARGS]``. Every rank
checks its own results against one process computed here (the plain optimizer on the averaged
grads) and prints ``rank R: <SCENARIO> OK <n>``; any difference raises, so the run exits
non-zero.

Scenarios: ``parity`` (every case of cases.py, bit for bit), ``save DIR K`` (K steps, then a
checkpoint DIR/ckpt-<world>.npz), ``resume DIR FROM K`` (load DIR/ckpt-<FROM>.npz, K more
steps, compare with one process that ran them all), ``errors`` (a failure on one rank raises
on every rank and changes nothing).
"""

from __future__ import annotations

import os
import sys

import numpy as np
from mpi4py import MPI

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases as C

import fastoptim as fo

comm = MPI.COMM_WORLD
RANK, WORLD = comm.Get_rank(), comm.Get_size()


def check(cond: bool, *what) -> None:
    if not cond:
        raise AssertionError(f"rank {RANK} of {WORLD}: " + " ".join(map(str, what)))


def same_state(sd_a: dict, sd_b: dict, what) -> None:
    check(sd_a["state"].keys() == sd_b["state"].keys(), what, "state keys",
          sorted(sd_a["state"]), sorted(sd_b["state"]))
    for i, st in sd_b["state"].items():
        mine = sd_a["state"][i]
        check(mine.keys() == st.keys(), what, i, sorted(mine), sorted(st))
        for k, v in st.items():
            if not isinstance(v, (np.ndarray, C.Quantized)):  # step, NAdam's mu_product
                check(type(mine[k]) is type(v) and mine[k] == v, what, i, k, mine[k], v)
            else:
                check(np.array_equal(C.bits(mine[k]), C.bits(v)), what, "param", i, k)
                check(getattr(mine[k], "shape", None) == getattr(v, "shape", None), what, k)


def build(case, sharded: bool, **extra):
    cls = getattr(fo, case["cls"])
    params = C.make_params(case["dtype"])
    opts = {**case["options"], **extra}
    if sharded:
        opt = fo.distributed.ShardedOptimizer(cls, C.groups_of(params, case), comm=comm,
                                              average_grads=case.get("average", True), **opts)
    else:
        opt = cls(C.groups_of(params, case), **opts)
    sched = fo.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5) if case.get("schedule") else None
    return params, opt, sched


def run(case, params, opt, sched, sharded: bool, steps: range):
    results = []
    with np.errstate(all="ignore"):
        for t in steps:
            mine, averaged = C.step_grads(case, params, t, WORLD, RANK)
            results.append(opt.step(mine if sharded else averaged))
            if sched is not None:
                sched.step()
    return results


def parity() -> int:
    n = 0
    for case in C.cases():
        try:
            one_case(case)
        except Exception as e:
            e.add_note(f"rank {RANK} of {WORLD}: in case {case['id']}")
            raise
        n += 1
    return n


def one_case(case) -> None:
    if True:
        pa, sharded, sa = build(case, True)
        pb, plain, sb = build(case, False)
        ra = run(case, pa, sharded, sa, True, range(C.STEPS))
        rb = run(case, pb, plain, sb, False, range(C.STEPS))
        check(ra == rb, case["id"], "step results", ra, rb)
        for i, (x, y) in enumerate(zip(pa, pb)):
            check(np.array_equal(C.bits(x), C.bits(y)), case["id"], "param", i)
        check(sharded.last_grad_norm == plain.last_grad_norm, case["id"], "grad norm",
              sharded.last_grad_norm, plain.last_grad_norm)
        check(sharded.skipped_steps == plain.skipped_steps, case["id"], "skipped")
        same_state(sharded.state_dict(), plain.state_dict(), case["id"])
        at_root = sharded.state_dict(root=0)
        if RANK == 0:
            same_state(at_root, plain.state_dict(), case["id"] + " root=0")
        else:
            check(at_root is None, case["id"], "state_dict(root=0) off the root")
        # the shard holds about 1/WORLD of the state
        total = plain.state_nbytes()
        held = comm.allreduce(sharded.state_nbytes())
        check(held == total or case["options"].get("state_dtype") == "int8",
              case["id"], "state bytes", held, total)


CKPT_CASES = ["Adam-float32", "SGD-groups-f64", "Adam-int8-stochastic", "AdamW-bf16-master",
              "Adam-none-grads"]


def _ckpt_cases():
    by_id = {c["id"]: c for c in C.cases()}
    return [by_id[k] for k in CKPT_CASES]


def save(directory: str, k: int) -> int:
    for case in _ckpt_cases():
        params, opt, _ = build(case, True)
        run(case, params, opt, None, True, range(k))
        path = os.path.join(directory, f"{case['id']}-{WORLD}.npz")
        opt.save(path)
        if RANK == 0:
            np.savez(os.path.join(directory, f"{case['id']}-{WORLD}-params.npz"),
                     *[C.bits(p) for p in params])
    return len(CKPT_CASES)


def resume(directory: str, source: int, k: int) -> int:
    """Load the checkpoint of ``source`` ranks, which took the grads of ``source`` ranks for
    its first ``k`` steps; continue with this world's grads; compare with one process that saw
    the same averaged grads."""
    for case in _ckpt_cases():
        params, opt, _ = build(case, True)
        saved = np.load(os.path.join(directory, f"{case['id']}-{source}-params.npz"))
        for p, key in zip(params, saved.files):
            C.set_bits(p, saved[key])
        opt.load(os.path.join(directory, f"{case['id']}-{source}.npz"))
        pb, plain, _ = build(case, False)
        with np.errstate(all="ignore"):
            for t in range(k):
                per_rank = [C.grads_at(case, pb, t, r) for r in range(source)]
                plain.step(fo.distributed.average_grads(per_rank))
            for t in range(k, k + 3):
                mine, averaged = C.step_grads(case, params, t, WORLD, RANK)
                opt.step(mine)
                plain.step(averaged)
        for i, (x, y) in enumerate(zip(params, pb)):
            check(np.array_equal(C.bits(x), C.bits(y)), case["id"], "resumed param", i)
        same_state(opt.state_dict(), plain.state_dict(), case["id"] + " resumed")
    return len(CKPT_CASES)


def expect_error(kind, words: str, fn) -> None:
    try:
        fn()
    except kind as e:
        check(words in str(e), "error message", repr(e), "lacks", repr(words))
        return
    except Exception as e:
        raise AssertionError(f"rank {RANK}: expected {kind.__name__}, got {e!r}") from e
    raise AssertionError(f"rank {RANK}: expected {kind.__name__}, nothing raised")


def errors(directory: str) -> int:
    n = 0
    other = 1 if WORLD > 1 else 0

    def replicas(**change):
        params = C.make_params(np.float32)
        if other == RANK:
            if "shape" in change:
                params[3] = np.zeros((129, 258), np.float32, order="F")
            if "value" in change:
                params[4][5] += 1.0
        return params

    S = fo.distributed.ShardedOptimizer
    expect_error(ValueError, "the shape of param params[3] is (129, 258) on rank 1",
                 lambda: S(fo.Adam, replicas(shape=1), comm=comm))
    expect_error(ValueError, "the values of param params[4]",
                 lambda: S(fo.Adam, replicas(value=1), comm=comm))
    groups = ([{"params": C.make_params(np.float32)}] if other != RANK else
              [{"params": C.make_params(np.float32)[:2]},
               {"params": C.make_params(np.float32)[2:]}])
    expect_error(ValueError, "the number of param groups is 2 on rank 1",
                 lambda: S(fo.Adam, groups, comm=comm))
    expect_error(ValueError, "option 'lr' is '0.01' on rank 1",
                 lambda: S(fo.Adam, C.make_params(np.float32), comm=comm,
                           lr=0.01 if other == RANK else 0.001))
    # an option error on one rank only (rank 1 has a negative lr): ValueError everywhere
    expect_error(ValueError, "lr" if other == RANK else "rank 1 failed (ValueError",
                 lambda: S(fo.Adam, C.make_params(np.float32), comm=comm,
                           lr=-1.0 if other == RANK else 0.001))
    expect_error(TypeError, "optimizer_class", lambda: S(dict, C.make_params(np.float32),
                                                         comm=comm))
    n += 6

    case = dict(id="errors", cls="Adam", dtype=np.float32, options=dict(nonfinite="raise"))
    params, opt, _ = build(case, True)
    run(case, params, opt, None, True, range(2))
    before = [p.copy(order="K") for p in params]
    sd_before = opt.state_dict()

    def unchanged(what):
        for i, (x, y) in enumerate(zip(params, before)):
            check(np.array_equal(C.bits(x), C.bits(y)), what, "changed param", i)
        same_state(opt.state_dict(), sd_before, what)

    def bad_dtype():
        g = C.make_grads(params, 5, RANK)
        if other == RANK:
            g[0] = g[0].astype(np.float64)
        opt.step(g)
    expect_error(TypeError, "dtype float64" if other == RANK else "rank 1 failed (TypeError",
                 bad_dtype)
    unchanged("bad dtype")

    def none_on_one():
        g = C.make_grads(params, 5, RANK)
        if RANK == 0:
            g[3] = None
        opt.step(g)
    expect_error(ValueError, "params[3] is None on some ranks", none_on_one)
    unchanged("None on one rank")

    def nan_on_one():
        g = C.make_grads(params, 5, RANK)
        if other == RANK:
            g[4][100] = np.inf
        opt.step(g)
    expect_error(FloatingPointError, "grad of param params[4] has 1 non-finite", nan_on_one)
    unchanged("nonfinite raise")

    def bad_schedule():
        # a schedule that fails at this step: evaluated only on the ranks holding group 0's
        # pieces, raised on all
        opt.param_groups[0]["lr"] = lambda t: -1.0 if t >= 2 else 1e-3
        try:
            opt.step(C.make_grads(params, 5, RANK))
        finally:
            opt.param_groups[0]["lr"] = 1e-3
    expect_error(ValueError, "lr", bad_schedule)
    unchanged("schedule")

    class Boom(Exception):
        pass

    def foreign_error():
        # an exception of no built-in type, on one rank: RankError on the others
        def lr(t):
            if other == RANK:
                raise Boom("boom")
            return 1e-3
        opt.param_groups[0]["lr"] = lr
        try:
            opt.step(C.make_grads(params, 5, RANK))
        finally:
            opt.param_groups[0]["lr"] = 1e-3
    expect_error(Boom if other == RANK else fo.distributed.RankError, "boom", foreign_error)
    unchanged("an exception of the user's type")

    def bad_group_option():
        opt.param_groups[0]["betas"] = (0.9, 1.5)
        try:
            opt.step(C.make_grads(params, 5, RANK))
        finally:
            opt.param_groups[0]["betas"] = (0.9, 0.999)
    expect_error(ValueError, "betas", bad_group_option)
    unchanged("group option")

    # checkpoints: a file of another optimizer / shape, a missing directory
    other_path = os.path.join(directory, f"other-{WORLD}.npz")
    wrong = fo.distributed.ShardedOptimizer(fo.SGD, C.make_params(np.float32), comm=comm,
                                            lr=0.1, momentum=0.9)
    wrong.step(C.make_grads(C.make_params(np.float32), 0, RANK))
    wrong.save(other_path)
    expect_error(ValueError, "SGD", lambda: opt.load(other_path))
    unchanged("load of another optimizer's checkpoint")
    sd_bad = opt.state_dict()
    sd_bad["state"][0]["exp_avg"] = sd_bad["state"][0]["exp_avg"][:-1]
    expect_error(ValueError, "exp_avg", lambda: opt.load_state_dict(sd_bad))
    unchanged("state dict with a short buffer")
    expect_error(FileNotFoundError, "no-such-dir" if RANK == 0 else "rank 0 failed",
                 lambda: opt.save(os.path.join(directory, "no-such-dir", "x.npz")))
    unchanged("failed save")
    n += 9
    opt.step(C.make_grads(params, 5, RANK))  # still in step with each other after all that
    return n + 1


def main() -> None:
    scenario, args = sys.argv[1], sys.argv[2:]
    if scenario == "parity":
        n = parity()
    elif scenario == "save":
        n = save(args[0], int(args[1]))
    elif scenario == "resume":
        n = resume(args[0], int(args[1]), int(args[2]))
    elif scenario == "errors":
        n = errors(args[0])
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    comm.Barrier()
    print(f"rank {RANK}: {scenario} OK {n}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        # one rank's failure must not leave the others waiting in a collective
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        comm.Abort(1)
