"""fastoptim.distributed (issue 13): the shard layout, the averaging order, and ShardedOptimizer
under ``mpiexec -n 2/3/4`` compared bit for bit with one process (tests/distributed/worker.py
checks every rank), checkpoints resharded between world sizes and into the plain optimizer,
errors raised on every rank. Each mpiexec run is bounded by a timeout, so a deadlock fails
in seconds instead of stalling CI."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastoptim as fo
from fastoptim.distributed import ALIGN, shard_bounds, shard_layout

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "distributed", "worker.py")
sys.path.insert(0, os.path.join(HERE, "distributed"))
import cases as C  # noqa: E402


# ----------------------------------------------------------------------------- layout
@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 5 * ALIGN), min_size=1, max_size=8), st.integers(1, 9))
def test_layout_covers_every_element_once_cut_at_aligned_points(sizes, world):
    layout = shard_layout(sizes, world)
    assert len(layout) == world
    covered = [[] for _ in sizes]
    position = 0
    starts = np.cumsum([0, *sizes[:-1]]).tolist()
    for pieces in layout:
        for p in pieces:
            assert 0 <= p.start <= p.stop <= sizes[p.param]
            assert p.start % ALIGN == 0  # inside a param: only at multiples of ALIGN
            if sizes[p.param]:
                assert p.start < p.stop
                # contiguous: rank by rank, the pieces continue the concatenated space
                assert starts[p.param] + p.start == position
                position = starts[p.param] + p.stop
            covered[p.param].append((p.start, p.stop))
    assert position == sum(sizes)
    for i, n in enumerate(sizes):
        spans = sorted(covered[i])
        assert len(spans) >= 1  # every param has a place, size 0 included
        if n:
            assert spans[0][0] == 0 and spans[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 40 * ALIGN), min_size=1, max_size=6), st.integers(1, 8))
def test_layout_balance_is_within_one_alignment_step(sizes, world):
    bounds = shard_bounds(sizes, world)
    total = sum(sizes)
    for r in range(1, world):
        # a cut moves at most half an ALIGN from r/N of the total, or to the nearer param
        # boundary when that is closer
        assert abs(bounds[r] - r * total // world) <= ALIGN // 2 + 1


@pytest.mark.parametrize("world", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_average_grads_is_the_float64_sum_in_rank_order_divided_once(world, dtype):
    # native for float32/float64 (a multiply by 1/N for power-of-two N, exact), NumPy for
    # 16-bit: both must give NumPy's float64 arithmetic bit for bit
    dt = fo.lowp.bfloat16() if dtype == "bfloat16" else np.dtype(dtype)
    rng = np.random.default_rng(world)
    high = 4 if dtype == "float16" else 30  # magnitudes across the dtype's range
    per_rank = [[(rng.standard_normal(70_001) * 10.0 ** rng.integers(-high, high, 70_001))
                 .astype(np.float32).astype(dt)] for _ in range(world)]
    got = fo.distributed.average_grads(per_rank)[0]
    acc = per_rank[0][0].astype(np.float64)
    for g in per_rank[1:]:
        acc = acc + g[0].astype(np.float64)
    with np.errstate(over="ignore"):  # a float16 mean of large values may round to inf
        want = (acc / world).astype(dt)
    assert got.dtype == dt
    assert np.array_equal(C.bits(got), C.bits(want))


def test_average_grads_checks_its_input():
    g = np.ones(3, np.float32)
    assert fo.distributed.average_grads([[None], [None]]) == [None]
    with pytest.raises(ValueError, match="None on some ranks"):
        fo.distributed.average_grads([[None], [g]])
    with pytest.raises(ValueError, match="same number"):
        fo.distributed.average_grads([[g], [g, g]])


def test_import_fastoptim_does_not_import_mpi4py():
    code = "import sys, fastoptim; assert 'mpi4py' not in sys.modules, 'mpi4py imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_without_mpi4py_the_error_names_the_extra():
    code = """
import sys
sys.modules['mpi4py'] = None   # as if not installed
import numpy as np, fastoptim as fo
try:
    fo.distributed.ShardedOptimizer(fo.Adam, [np.zeros(3, np.float32)], comm=None)
except ImportError as e:
    assert "fastoptim[mpi]" in str(e), e
    print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


mpi4py = pytest.importorskip("mpi4py", reason="the mpi extra (mpi4py, mpich) is not installed")
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep
                       + os.environ.get("PATH", ""))


def test_comm_must_be_an_mpi4py_communicator():
    # in a subprocess: MPI is initialised there, not in the test process (which forks)
    code = """
import numpy as np, fastoptim as fo
for comm, kind in ((None, TypeError), ("COMM_WORLD", TypeError)):
    try:
        fo.distributed.ShardedOptimizer(fo.Adam, [np.zeros(3, np.float32)], comm=comm)
    except kind as e:
        assert "mpi4py intracommunicator" in str(e), e
    else:
        raise SystemExit("no error")
from mpi4py import MPI
try:
    fo.distributed.ShardedOptimizer(fo.Adam, [np.zeros(3, np.float32)], comm=MPI.COMM_NULL)
except (TypeError, ValueError) as e:
    assert "COMM_NULL" in str(e) or "intracommunicator" in str(e), e
# one process (singleton MPI) is a world of one: the plain optimizer's bits
P = [np.ones(5, np.float32)]; Q = [np.ones(5, np.float32)]
s = fo.distributed.ShardedOptimizer(fo.Adam, P, comm=MPI.COMM_WORLD, lr=0.1)
a = fo.Adam(Q, lr=0.1)
g = [np.arange(5, dtype=np.float32)]
s.step(g); a.step(g)
assert np.array_equal(P[0], Q[0])
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "ok", out.stdout + out.stderr


def mpirun(n: int, *args: str, timeout: float = 240) -> str:
    """``mpiexec -n n python worker.py args``; every rank must report OK. A run past the
    timeout (a deadlock) is killed with its whole process group and fails."""
    if MPIEXEC is None:
        pytest.fail("mpi4py is installed but mpiexec is not on PATH (pip install mpich)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [os.path.dirname(os.path.dirname(fo.__file__)), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([MPIEXEC, "-n", str(n), sys.executable, WORKER, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"mpiexec -n {n} {' '.join(args)} did not finish in {timeout} s "
                    f"(deadlock?):\n{out[-4000:]}")
    assert proc.returncode == 0, out[-6000:]
    for r in range(n):
        assert f"rank {r}: {args[0]} OK" in out, out[-6000:]
    return out


@pytest.mark.parametrize("n", [2, 3, 4])
def test_sharded_equals_one_process_bit_for_bit(n):
    out = mpirun(n, "parity")
    assert f"parity OK {len(C.cases())}" in out


def test_checkpoints_reshard_between_world_sizes_and_into_one_process(tmp_path):
    d = str(tmp_path)
    mpirun(2, "save", d, "3")
    mpirun(4, "save", d, "3")
    mpirun(4, "resume", d, "2", "3")   # 2 ranks -> 4
    mpirun(3, "resume", d, "4", "3")   # 4 ranks -> 3
    mpirun(2, "resume", d, "4", "3")   # 4 ranks -> 2
    # the file of 4 ranks into the plain optimizer of one process, continued
    by_id = {c["id"]: c for c in C.cases()}
    for name in ("Adam-float32", "Adam-int8-stochastic", "AdamW-bf16-master"):
        case = by_id[name]
        cls = getattr(fo, case["cls"])
        params = C.make_params(case["dtype"])
        saved = np.load(os.path.join(d, f"{name}-4-params.npz"))
        for p, key in zip(params, saved.files):
            C.set_bits(p, saved[key])
        opt = cls(params, **case["options"])
        fo.load(opt, os.path.join(d, f"{name}-4.npz"))
        ref_params = C.make_params(case["dtype"])
        ref = cls(ref_params, **case["options"])
        for t in range(6):
            averaged = fo.distributed.average_grads(
                [C.grads_at(case, ref_params, t, r) for r in range(4)])
            ref.step(averaged)
            if t >= 3:
                opt.step(averaged)
        for x, y in zip(params, ref_params):
            assert np.array_equal(C.bits(x), C.bits(y)), name
        for x, y in zip(params, ref_params):
            for k, v in ref.state[y].items():
                assert k == "step" and opt.state[x][k] == v or np.array_equal(
                    C.bits(opt.state[x][k]), C.bits(v)), (name, k)


@pytest.mark.parametrize("n", [2, 4])
def test_errors_reach_every_rank_and_change_nothing(n, tmp_path):
    out = mpirun(n, "errors", str(tmp_path))
    assert "errors OK 16" in out


def test_demo_distributed_prints_the_losses_of_one_process():
    pytest.importorskip("sklearn", reason="the demo extra is not installed")
    if MPIEXEC is None:
        pytest.fail("mpi4py is installed but mpiexec is not on PATH (pip install mpich)")
    out = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-m", "fastoptim.demo",
                          "--distributed", "--epochs", "2"], capture_output=True, text=True,
                         timeout=240, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stdout + out.stderr
    epochs = [line.split() for line in out.stdout.splitlines() if "train loss" in line]
    assert len(epochs) == 2, out.stdout
    for words in epochs:  # "epoch 1: train loss X sharded, Y one process"
        assert words[4] == words[6].rstrip(","), words
    assert "identical to one process: yes" in out.stdout, out.stdout
