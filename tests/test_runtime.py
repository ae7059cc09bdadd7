"""ISA selection, threads, and process-wide floating-point state."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import fastoptim as fo


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


def test_isa_lists():
    compiled, available = fo.compiled_isas(), fo.available_isas()
    assert compiled[0] == "scalar" and available[0] == "scalar"
    assert set(available) <= set(compiled)
    assert fo.isa() in available
    if os.uname().machine == "x86_64":
        assert {"sse2", "avx2", "avx512"} <= set(compiled)


def test_default_isa_is_the_best_available():
    out = run_python("import fastoptim as fo; print(fo.isa(), fo.available_isas()[-1])")
    assert out.returncode == 0, out.stderr
    chosen, best = out.stdout.split()
    assert chosen == best


@pytest.mark.parametrize("isa", fo.available_isas())
def test_env_var_forces_isa(isa):
    out = run_python("import fastoptim as fo; print(fo.isa())", FASTOPTIM_ISA=isa)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == isa


def test_env_var_with_unknown_or_unsupported_isa_fails_import():
    out = run_python("import fastoptim", FASTOPTIM_ISA="mmx")
    assert out.returncode != 0
    assert "ImportError" in out.stderr and "unknown ISA 'mmx'" in out.stderr
    unsupported = sorted(set(fo.compiled_isas()) - set(fo.available_isas()))
    if unsupported:
        out = run_python("import fastoptim", FASTOPTIM_ISA=unsupported[0])
        assert out.returncode != 0 and "does not support" in out.stderr


def test_use_isa_switches_and_refuses_unknown():
    for isa in fo.available_isas():
        fo.use_isa(isa)
        assert fo.isa() == isa
    with pytest.raises(ValueError, match="unknown ISA"):
        fo.use_isa("sse9")
    with pytest.raises(TypeError):
        fo.use_isa(3)
    for isa in sorted(set(fo.compiled_isas()) - set(fo.available_isas())):
        with pytest.raises(ValueError, match="does not support"):
            fo.use_isa(isa)


def test_threads_setting():
    fo.set_num_threads(3)
    assert fo.get_num_threads() == 3
    for bad, exc in [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)]:
        with pytest.raises(exc):
            fo.set_num_threads(bad)
    assert fo.get_num_threads() == 3


def test_env_var_sets_threads():
    out = run_python("import fastoptim as fo; print(fo.get_num_threads())",
                     FASTOPTIM_NUM_THREADS="3")
    assert out.stdout.strip() == "3", out.stderr


def test_subnormals_survive_import_and_steps():
    """No -ffast-math: loading the library must not turn on flush-to-zero/denormals-are-zero,
    and the kernels (also on OpenMP worker threads) keep subnormal results."""
    code = """
import numpy as np, fastoptim as fo
fo.set_num_threads(2)
p = np.zeros(200_000, np.float32)
fo.SGD([p], lr=1.0).step([np.full(200_000, -1e-40, np.float32)])
tiny = np.float32(1e-38) * np.float32(1e-2)
print(float(tiny) > 0, bool(np.all(p == np.float32(1e-40))), float(np.float32(1e-40)) > 0)
"""
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "True"]


def test_gil_is_released_during_a_step():
    """A long step in one thread lets another Python thread run meanwhile."""
    n = 20_000_000
    p = np.zeros(n, np.float32)
    g = [np.ones(n, np.float32)]
    opt = fo.Adam([p])
    fo.set_num_threads(1)
    opt.step(g)
    t0 = time.perf_counter()
    opt.step(g)
    step_time = time.perf_counter() - t0
    ticks = []
    done = threading.Event()

    def stepper():
        for _ in range(3):
            opt.step(g)
        done.set()

    worker = threading.Thread(target=stepper)
    worker.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    worker.join()
    # With the GIL held for a whole step, this thread could not wake up during it: the largest
    # gap between its ticks would be about one step time. Released: ~1 ms (allow 40% of a
    # step for scheduling noise on a busy 2-core machine).
    gaps = np.diff(ticks)
    assert len(gaps) > 3 and gaps.max() < 0.4 * step_time + 0.005, (gaps.max(), step_time)


@pytest.mark.parametrize("sizes, threads", [
    ([2**31 + 7, 3, 2**33, 0, 65], 2),          # past 2^31 and 2^32 elements
    ([2**40, 2**40 + 1], 16),
    ([0, 1, 100_003, 5, 64, 70_001], 2),
    ([10] * 1000 + [2**20], 7),
    ([100], 8),                                # below the grain: one thread
])
def test_partition_covers_every_element_once_with_64_bit_sizes(sizes, threads):
    """The thread split (64-bit arithmetic, no memory needed): every element of every tensor
    in exactly one piece, each thread one contiguous share, cuts inside a tensor on multiples
    of the quantization block from the tensor's start (no two threads write one block of
    int8 codes and its scale)."""
    align = fo._native.split_align
    assert align == fo._native.q8_block and align % 64 == 0      # blocks hold whole lines
    pieces = fo._native._partition(sizes, threads)
    total = sum(sizes)
    used = 1 if total < 2 * fo._native.grain_size else min(threads, total // fo._native.grain_size)
    assert {t for t, *_ in pieces} <= set(range(used))
    covered = {i: 0 for i in range(len(sizes))}
    last = (-1, -1, 0)
    for thread, tensor, begin, end in pieces:
        assert 0 <= begin < end <= sizes[tensor]
        assert (thread, tensor) >= last[:2]                    # ordered by thread, tensor
        assert begin == covered[tensor]                         # contiguous, no overlap
        covered[tensor] = end
        if end != sizes[tensor]:
            assert end % align == 0                             # a thread boundary
        last = (thread, tensor, end)
    assert all(covered[i] == n for i, n in enumerate(sizes))
    shares = [sum(e - b for t, _, b, e in pieces if t == k) for k in range(used)]
    # each cut moves down by < align from the even share (total // used each)
    assert max(shares) - min(shares) <= align * used + total % used
