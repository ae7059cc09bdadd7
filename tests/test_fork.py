"""Fork safety: after a multi-threaded step, a child made by ``os.fork()`` or by a fork-context
``multiprocessing.Pool`` completes its steps with the same bits, and the parent keeps its
threads.

GNU OpenMP's thread team does not survive a fork: before the fix, the child's next threaded
step waited forever for threads that only exist in the parent. Each scenario therefore runs in
its own process group with a deadline. Inside the script, the parent waits for its children
with a shorter deadline and kills them, so a hang fails the test with a message (not by
stalling CI) and leaves no orphaned process behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

TIMEOUT = 60  # seconds for a whole scenario; each runs in about a second when nothing hangs
CHILD_DEADLINE = 30  # seconds the scenario's parent waits for a child before killing it

# Shared by every scenario: 1e6-element Adam steps (above the grain, so two threads really
# split the step), deterministic from a seed, and a bounded wait for a forked child.
PRELUDE = textwrap.dedent(f"""
    import os, signal, sys, time, traceback
    import numpy as np
    import fastoptim as fo

    N = 1_000_000

    def run_steps(seed=0, steps=3, **options):
        rng = np.random.default_rng(seed)
        p = rng.standard_normal(N).astype(np.float32)
        opt = fo.Adam([p], lr=1e-2, **options)
        for _ in range(steps):
            opt.step([(rng.standard_normal(N) * 3).astype(np.float32)])
        return p

    def wait_child(pid):
        deadline = time.monotonic() + {CHILD_DEADLINE}
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.01)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        sys.exit("the forked child hung")

    def in_child(body):
        # Runs body() in a forked child; its exit code says what happened there.
        pid = os.fork()
        if pid == 0:
            try:
                code = 0 if body() else 3
            except BaseException:
                traceback.print_exc()
                code = 4
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        return wait_child(pid)

    fo.set_num_threads(1)
    REF = run_steps()                     # single-threaded reference, before any fork
    fo.set_num_threads(2)
    assert np.array_equal(run_steps(), REF)   # a threaded step: the thread team now exists
""")


def run_scenario(code: str) -> str:
    proc = subprocess.Popen([sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the script and any child it forked
        proc.communicate()
        pytest.fail(f"scenario hung for {TIMEOUT} s")
    assert proc.returncode == 0, f"exit code {proc.returncode}\n{out}\n{err}"
    return out


def test_os_fork_child_steps_single_threaded_with_the_same_bits():
    run_scenario("""
        def child():
            same = np.array_equal(run_steps(), REF)
            assert fo.get_num_threads() == 1, fo.get_num_threads()
            return same
        assert in_child(child) == 0
    """)


def test_child_that_sets_threads_again_completes_with_the_same_bits():
    run_scenario("""
        def child():
            fo.set_num_threads(2)
            assert fo.get_num_threads() == 2
            same = np.array_equal(run_steps(), REF)
            # and its own child again: forked from a process that ran threaded steps
            return same and in_child(lambda: np.array_equal(run_steps(), REF)) == 0
        assert in_child(child) == 0
    """)


def test_fork_context_pool_workers_step():
    run_scenario("""
        import multiprocessing as mp

        def work(seed):
            return run_steps(seed)

        seeds = [0, 1, 2, 3]
        fo.set_num_threads(1)
        expected = [run_steps(s) for s in seeds]
        fo.set_num_threads(2)
        run_steps()                       # the parent's team exists when the workers fork
        pool = mp.get_context("fork").Pool(2)
        try:
            got = pool.map_async(work, seeds).get(timeout=30)
        except mp.TimeoutError:
            sys.exit("a pool worker hung")
        finally:
            pool.terminate()
            pool.join()
        assert all(np.array_equal(g, e) for g, e in zip(got, expected))
    """)


def test_parent_keeps_its_threads_after_a_fork():
    out = run_scenario("""
        assert in_child(lambda: np.array_equal(run_steps(), REF)) == 0
        assert fo.get_num_threads() == 2, fo.get_num_threads()
        assert np.array_equal(run_steps(), REF)
        print("parent threads", fo.get_num_threads())
    """)
    assert "parent threads 2" in out


def test_gradient_norm_clipping_in_the_child():
    run_scenario("""
        fo.set_num_threads(1)
        ref = run_steps(clip_norm=1.0)
        g = np.random.default_rng(5).standard_normal(N).astype(np.float32)
        ref_norm = fo.grad_norm([g])
        fo.set_num_threads(2)
        assert np.array_equal(run_steps(clip_norm=1.0), ref)
        assert fo.grad_norm([g]) == ref_norm  # threaded reduction in the parent

        def child():
            return (fo.grad_norm([g]) == ref_norm
                    and np.array_equal(run_steps(clip_norm=1.0), ref))
        assert in_child(child) == 0
        fo.set_num_threads(2)
        assert in_child(lambda: fo.set_num_threads(2) or fo.grad_norm([g]) == ref_norm) == 0
    """)

