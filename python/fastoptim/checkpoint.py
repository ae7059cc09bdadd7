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
"""

from __future__ import annotations

import json
import numbers
import os
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from .lowp.dtypes import bfloat16, storage_name
from .lowp.quantized import Quantized

__all__ = ["save", "load", "FORMAT", "VERSION"]

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


def save(opt, path: str | os.PathLike) -> None:
    """Write ``opt.state_dict()`` to ``path`` (an ``.npz`` file; replaced atomically)."""
    sd = opt.state_dict()
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
            "skipped_steps": int(getattr(opt, "skipped_steps", 0))}
    arrays[_META] = np.array(json.dumps(meta))
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


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
    opt.load_state_dict({"optimizer": meta.get("optimizer"),
                         "format": meta.get("state_dict_format"),
                         "state": state, "param_groups": groups})
    if hasattr(opt, "skipped_steps"):
        opt.skipped_steps = int(meta.get("skipped_steps", 0))
