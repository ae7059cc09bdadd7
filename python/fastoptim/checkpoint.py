"""Optimizer checkpoints as ``.npz`` files: ``fastoptim.save(opt, path)`` /
``fastoptim.load(opt, path)`` (also ``opt.save(path)`` / ``opt.load(path)``).

The file holds the state buffers as plain arrays and everything else (optimizer kind, format
version, step counts, param-group options) as one JSON string, so it is read with
``allow_pickle=False``: loading a file never runs code from it. A schedule given as a group's
``lr`` is stored by its ``repr`` only; loading keeps the optimizer's current schedule, which
must have the same ``repr``.

Low-precision state is stored as it is held, never converted: int8 state as its codes and
scales (``state/<i>/<name>/codes``, ``.../scales``), bfloat16 arrays as their uint16 bit
patterns under ``state/<i>/<name>@bfloat16`` (npz has no bfloat16 type; reading them back
needs ml_dtypes, as using them did).

Durability: :func:`save` writes ``<path>.tmp-<host>-<pid>-<random>`` in the same directory,
flushes it and syncs it to disk (``os.fsync``), renames it over ``path`` (``os.replace``,
atomic) and syncs the directory, so once ``save`` returns the new checkpoint survives a power
loss (as far as the disk honours ``fsync``), and at any moment before, ``path`` holds the
previous checkpoint, whole. A process killed during ``save``
leaves its temporary file behind; the next ``save`` to the same path on the same machine
removes the temporary files of processes that no longer run, so at most one (that of the last
killed saver) stays.
"""

from __future__ import annotations

import contextlib
import errno
import json
import numbers
import os
import re
import secrets
import socket
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from .lowp.dtypes import bfloat16, storage_name
from .lowp.quantized import Quantized

__all__ = ["save", "load", "write_state_dict", "read_state_dict", "FORMAT", "VERSION"]

FORMAT = "fastoptim-optimizer"
VERSION = 1
_META = "__meta__"
_BF16 = "@bfloat16"


def _encode(value: Any, where: str) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_encode(v, where) for v in value]
    if callable(value):
        return {"__callable__": repr(value)}
    raise TypeError(f"{where}: cannot store a {type(value).__name__} in a checkpoint")


_TMP_MARK = ".tmp-"


def _tmp_prefix(path: str) -> str:
    # The host is in the name so that on a shared filesystem only this machine's dead savers'
    # files are recognised as stale.
    return f"{path}{_TMP_MARK}{socket.gethostname()}-"


_TMP_SUFFIX = re.compile(r"(\d+)-[0-9a-f]{8}")  # what follows the prefix: <pid>-<random>


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: existence check only (POSIX)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):
        return True  # another user's process, or undecidable: keep its file
    return True


def _remove_stale_tmps(path: str) -> None:
    """Remove ``path``'s temporary files left by savers on this machine that no longer run."""
    if os.name != "posix":
        return  # os.kill(pid, 0) terminates the process on Windows: never probe there
    prefix = _tmp_prefix(path)
    directory, base = os.path.split(prefix)
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return
    for name in names:
        if not name.startswith(base):
            continue
        match = _TMP_SUFFIX.fullmatch(name[len(base):])
        if match is None:
            continue  # not ours (e.g. a host whose name starts with this host's name)
        pid = int(match.group(1))
        if pid != os.getpid() and not _pid_alive(pid):
            with contextlib.suppress(FileNotFoundError):  # another saver removed it first
                os.remove(os.path.join(directory, name))


def _fsync_directory(directory: str) -> None:
    """fsync a directory so a rename in it is durable; a no-op where that is unsupported."""
    if os.name != "posix":
        return  # Windows cannot open a directory as a file; NTFS journals the rename
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as e:
        # Some filesystems refuse fsync on a directory; anything else is a real I/O error.
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF,
                           errno.EACCES, errno.EPERM):
            raise
    finally:
        os.close(fd)


def save(opt, path: str | os.PathLike) -> None:
    """Write ``opt.state_dict()`` to ``path`` (an ``.npz`` file), durably and atomically.

    The data goes to a temporary file next to ``path`` (``<path>.tmp-<host>-<pid>-<random>``),
    which is flushed and synced to disk (``os.fsync``), renamed over ``path`` with
    ``os.replace``, and then the directory is synced: at every moment ``path`` is either the
    previous checkpoint or the new one, whole, even if the process is killed or the machine
    loses power, and after ``save`` returns it is the new one. Temporary files of killed
    savers on this machine are removed by the next ``save`` to the same path.
    """
    write_state_dict(opt.state_dict(), path, int(getattr(opt, "skipped_steps", 0)))


def write_state_dict(sd: Mapping[str, Any], path: str | os.PathLike,
                     skipped_steps: int = 0) -> None:
    """:func:`save` of a state dict (fastoptim.distributed writes a gathered one so)."""
    arrays: dict[str, np.ndarray] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for i, st in sd["state"].items():
        scalars[str(i)] = {}
        for key, value in st.items():
            if isinstance(value, Quantized):
                arrays[f"state/{i}/{key}/codes"] = value.codes
                arrays[f"state/{i}/{key}/scales"] = value.scales
            elif storage_name(value) == "bfloat16":
                arrays[f"state/{i}/{key}{_BF16}"] = value.view(np.uint16)
            elif isinstance(value, np.ndarray):
                arrays[f"state/{i}/{key}"] = value
            else:
                scalars[str(i)][key] = _encode(value, f"state[{i}][{key!r}]")
    groups = [{k: _encode(v, f"param_groups[{gi}][{k!r}]") for k, v in g.items()}
              for gi, g in enumerate(sd["param_groups"])]
    meta = {"format": FORMAT, "version": VERSION, "optimizer": sd["optimizer"],
            "state_dict_format": sd["format"], "state": scalars, "param_groups": groups,
            "skipped_steps": int(skipped_steps)}
    arrays[_META] = np.array(json.dumps(meta))
    path = os.fspath(path)
    _remove_stale_tmps(path)
    tmp = f"{_tmp_prefix(path)}{os.getpid()}-{secrets.token_hex(4)}"
    try:
        with open(tmp, "xb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    _fsync_directory(os.path.dirname(path))


def _read(path: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"PK\x03\x04":
                raise ValueError("not an .npz (zip) file")
            f.seek(0)
            with np.load(f, allow_pickle=False) as z:
                names = z.files
                meta = json.loads(str(z[_META])) if _META in names else None
                arrays = {k: z[k] for k in names if k != _META}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable fastoptim checkpoint ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not a fastoptim checkpoint (no fastoptim metadata)")
    version = meta.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ValueError(f"{path}: checkpoint version {version!r} is newer than this fastoptim "
                         f"reads ({VERSION}); upgrade fastoptim")
    return meta, arrays


def load(opt, path: str | os.PathLike) -> None:
    """Restore ``opt`` from a file written by :func:`save`. The file and the state it holds are
    validated completely before anything changes (``ValueError``/``TypeError`` otherwise)."""
    sd, skipped = read_state_dict(path, opt)
    opt.load_state_dict(sd)
    if hasattr(opt, "skipped_steps"):
        opt.skipped_steps = skipped


def read_state_dict(path: str | os.PathLike, opt) -> tuple[dict[str, Any], int]:
    """The state dict in a file written by :func:`save`, and its skipped-step count, for
    ``opt`` (whose schedules stand in for the ones stored by name); not yet validated
    against it (``load_state_dict`` does that)."""
    path = os.fspath(path)
    meta, arrays = _read(path)
    try:
        state: dict[int, dict[str, Any]] = {
            int(i): dict(values) for i, values in meta["state"].items()}
        quantized: dict[tuple[int, str], dict[str, np.ndarray]] = {}
        for key, arr in arrays.items():
            _, i, name = key.split("/", 2)
            if name.endswith(("/codes", "/scales")):
                name, part = name.rsplit("/", 1)
                quantized.setdefault((int(i), name), {})[part] = arr
                continue
            if name.endswith(_BF16):
                name = name[: -len(_BF16)]
                arr = arr.view(bfloat16())
            state.setdefault(int(i), {})[name] = arr
        for (i, name), parts in quantized.items():
            state.setdefault(i, {})[name] = Quantized(parts["codes"], parts["scales"])
        groups = [dict(g) for g in meta["param_groups"]]
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ValueError(f"{path}: malformed fastoptim checkpoint ({e!r})") from None
    if len(groups) != len(opt.param_groups):
        raise ValueError(f"{path}: checkpoint has {len(groups)} param groups, the optimizer "
                         f"{len(opt.param_groups)}")
    for gi, (saved, current) in enumerate(zip(groups, opt.param_groups)):
        for key, value in saved.items():
            if isinstance(value, Mapping) and "__callable__" in value:
                mine = current.get(key)
                if not callable(mine) or repr(mine) != value["__callable__"]:
                    raise ValueError(
                        f"{path}: param_groups[{gi}][{key!r}] was the schedule "
                        f"{value['__callable__']}; the optimizer must have the same schedule "
                        "there before loading")
                saved[key] = mine
    sd = {"optimizer": meta.get("optimizer"), "format": meta.get("state_dict_format"),
          "state": state, "param_groups": groups}
    try:
        skipped = int(meta.get("skipped_steps", 0))
    except (TypeError, ValueError):
        raise ValueError(f"{path}: malformed fastoptim checkpoint (skipped_steps)") from None
    return sd, skipped
