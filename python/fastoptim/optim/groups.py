"""Param groups that tell the step when an option changes.

``opt.param_groups`` is a :class:`ParamGroups` list (whose element writes bump the counter
too) of :class:`ParamGroup` dicts: plain dicts to every reader (torch's
schedulers, ``state_dict``, user code), whose writes of any key but ``"lr"`` bump a process-wide
counter. A step whose counter is unchanged since the optimizer's last full step knows that no
option changed and skips re-validating the groups (the per-step fast path in base.py);
``"lr"`` is read and checked at every step anyway, since schedulers change it every step.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ParamGroup", "ParamGroups", "mutations"]

_MUTATIONS = [0]


def mutations() -> int:
    """The counter: changes whenever any ParamGroup's option other than lr is written."""
    return _MUTATIONS[0]


class ParamGroup(dict):
    """A param group: a dict whose non-lr writes bump :func:`mutations`."""

    __slots__ = ()

    def __setitem__(self, key: Any, value: Any) -> None:
        if key != "lr":
            _MUTATIONS[0] += 1
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: Any) -> None:
        _MUTATIONS[0] += 1
        dict.__delitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        _MUTATIONS[0] += 1
        dict.update(self, *args, **kwargs)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        _MUTATIONS[0] += 1
        return dict.setdefault(self, key, default)

    def pop(self, *args: Any) -> Any:
        _MUTATIONS[0] += 1
        return dict.pop(self, *args)

    def popitem(self) -> tuple[Any, Any]:
        _MUTATIONS[0] += 1
        return dict.popitem(self)

    def clear(self) -> None:
        _MUTATIONS[0] += 1
        dict.clear(self)

    def __ior__(self, other: Any) -> ParamGroup:
        _MUTATIONS[0] += 1
        dict.update(self, other)
        return self

    def __reduce__(self) -> tuple:
        return (ParamGroup, (dict(self),))


def _bumping(name: str) -> Any:
    method = getattr(list, name)

    def bump(self: list, *args: Any, **kwargs: Any) -> Any:
        _MUTATIONS[0] += 1
        return method(self, *args, **kwargs)

    bump.__name__ = name
    return bump


class ParamGroups(list):
    """``opt.param_groups``: a list whose writes (a group replaced, added, removed) bump
    :func:`mutations`."""

    __slots__ = ()

    __setitem__ = _bumping("__setitem__")
    __delitem__ = _bumping("__delitem__")
    __iadd__ = _bumping("__iadd__")
    __imul__ = _bumping("__imul__")
    append = _bumping("append")
    extend = _bumping("extend")
    insert = _bumping("insert")
    pop = _bumping("pop")
    remove = _bumping("remove")
    clear = _bumping("clear")
    sort = _bumping("sort")
    reverse = _bumping("reverse")

    def __reduce__(self) -> tuple:
        return (ParamGroups, (list(self),))
