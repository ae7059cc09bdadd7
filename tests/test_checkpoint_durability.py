"""Durable checkpoints: a saver killed (SIGKILL) at any moment leaves a whole, loadable
checkpoint at the path (the previous one or the new one) and at most one temporary file; the
file and its directory are fsync'ed around the atomic rename."""

from __future__ import annotations

import errno
import os
import random
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import fastoptim as fo

# Two distinguishable optimizer states, built identically in the test and in the saver.
STATES = textwrap.dedent("""
    import numpy as np
    import fastoptim as fo

    N = 300_000  # ~2.4 MB per checkpoint: a save takes milliseconds, long enough to interrupt

    def make(lr=0.1):
        return fo.Adam([np.linspace(-1, 1, N, dtype=np.float32)], lr=lr)

    def states():
        out = []
        for steps, lr in ((1, 0.1), (2, 0.2)):
            opt = make(lr)
            for i in range(steps):
                opt.step([np.full(N, i + 1.0, np.float32)])
            out.append(opt)
        return out
""")

# Forks savers on demand, so 20 kills cost 20 forks, not 20 interpreter starts. Each saver
# prints its pid, then alternates between the two states, saving to one path forever and
# printing "saved" after each save returns (os.write: one atomic line, no buffer); the server
# reaps it when told and answers "reaped".
SERVER = STATES + textwrap.dedent("""
    import os, sys
    a, b = states()
    path = sys.argv[1]
    print("ready", flush=True)
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "fork":
            if os.fork() == 0:
                try:
                    os.write(1, f"{os.getpid()}\\n".encode())
                    while True:
                        fo.save(a, path)
                        os.write(1, b"saved\\n")
                        fo.save(b, path)
                        os.write(1, b"saved\\n")
                finally:
                    os._exit(1)
        elif cmd == "reap":
            os.waitpid(int(args[0]), 0)
            print("reaped", flush=True)
""")


def namespace() -> dict:
    ns: dict = {}
    exec(STATES, ns)
    return ns


def which_state(opt, expected) -> int | None:
    got = opt.state_dict()
    for k, sd in enumerate(expected):
        if got["param_groups"] != sd["param_groups"]:
            continue
        if all(np.array_equal(got["state"][0][key], value) if isinstance(value, np.ndarray)
               else got["state"][0][key] == value for key, value in sd["state"][0].items()):
            return k
    return None


def temp_files(directory, name) -> list[str]:
    return [n for n in os.listdir(directory) if n.startswith(name + ".tmp-")]


def state_after(saves: int, before: int) -> int:
    """Which state is at path after a saver's first `saves` saves, if state `before` was
    there when it started (each saver writes states 0, 1, 0, 1, ...)."""
    return before if saves == 0 else (saves - 1) % 2


def test_killed_saver_leaves_a_loadable_checkpoint_and_one_temp_file_at_most(tmp_path):
    ns = namespace()
    expected = [opt.state_dict() for opt in ns["states"]()]
    path = tmp_path / "ckpt.npz"
    fo.save(ns["states"]()[0], path)
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    # Bounded time: whatever hangs, the server's process group is killed, its pipe closes and
    # the readline below returns "" (and the test fails) instead of blocking.
    watchdog = threading.Timer(60, os.killpg, (server.pid, signal.SIGKILL))
    watchdog.start()
    rng = random.Random(0)
    mid_write, at_path = 0, 0
    try:
        assert server.stdout.readline() == "ready\n"
        for _ in range(20):
            server.stdin.write("fork\n")
            server.stdin.flush()
            pid = int(server.stdout.readline())
            # Let 0-3 saves complete, then kill at a random moment of the next one or two.
            wait_for, stamps = rng.randrange(4), [time.monotonic()]
            for _ in range(wait_for):
                assert server.stdout.readline() == "saved\n"
                stamps.append(time.monotonic())
            one_save = stamps[-1] - stamps[-2] if wait_for else 0.01
            time.sleep(rng.uniform(0.0, 1.5 * one_save))
            os.kill(pid, signal.SIGKILL)
            server.stdin.write(f"reap {pid}\n")
            server.stdin.flush()
            saves = wait_for  # saves that had returned when the saver died
            while (line := server.stdout.readline()) == "saved\n":
                saves += 1
            assert line == "reaped\n"

            opt = ns["make"]()
            fo.load(opt, path)  # loadable: raises otherwise
            # The last save that returned, or the one that was running if its rename was done.
            k = which_state(opt, expected)
            assert k in (state_after(saves, at_path), state_after(saves + 1, at_path)), (
                saves, at_path, k)
            at_path = k
            leftovers = temp_files(tmp_path, path.name)
            assert len(leftovers) <= 1, leftovers
            mid_write += len(leftovers)
            assert set(os.listdir(tmp_path)) == {path.name, *leftovers}
    finally:
        watchdog.cancel()
        server.kill()
        server.communicate()
    # The kills did land inside saves: some left a temp file (mostly written, not renamed).
    assert mid_write > 0


def test_file_fsynced_before_the_rename_and_directory_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src, dst):
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    fo.save(namespace()["make"](), tmp_path / "c.npz")
    expected = ["fsync file", "replace"] + (["fsync dir"] if os.name == "posix" else [])
    assert events == expected


@pytest.mark.skipif(os.name != "posix", reason="directory fsync is POSIX")
def test_directory_fsync_unsupported_is_tolerated_and_io_errors_are_not(tmp_path, monkeypatch):
    real_fsync = os.fsync
    err = [errno.EINVAL]

    def fsync(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(err[0], os.strerror(err[0]))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    opt = namespace()["make"]()
    fo.save(opt, tmp_path / "c.npz")  # EINVAL: that filesystem cannot sync directories
    fo.load(opt, tmp_path / "c.npz")
    err[0] = errno.EIO
    with pytest.raises(OSError, match="Input/output error"):
        fo.save(opt, tmp_path / "c.npz")


@pytest.mark.skipif(os.name != "posix", reason="stale-file cleanup probes pids (POSIX)")
def test_only_temp_files_of_dead_savers_on_this_host_are_removed(tmp_path):
    path = tmp_path / "c.npz"
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead, alive = int(done.stdout), os.getppid()  # a reaped process; pytest's parent runs
    host = socket.gethostname()
    names = {"dead": f"c.npz.tmp-{host}-{dead}-0123abcd",
             "alive": f"c.npz.tmp-{host}-{alive}-0123abcd",
             "other host": f"c.npz.tmp-{host}-2-{dead}-0123abcd",  # host "<this host>-2"
             "other file": f"d.npz.tmp-{host}-{dead}-0123abcd",
             "not a temp name": f"c.npz.tmp-{host}-{dead}-notours"}
    for name in names.values():
        (tmp_path / name).write_bytes(b"partial")
    fo.save(namespace()["make"](), path)
    assert set(os.listdir(tmp_path)) == {"c.npz", *names.values()} - {names["dead"]}
