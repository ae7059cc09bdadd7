"""The API reference covers the public API: every name in ``fastoptim.__all__`` and in the
``__all__`` of every public submodule is documented in docs/*.rst and has a docstring.

Reads the .rst sources, not a built site, so it needs neither sphinx nor a docs build. A name
is covered by an autodoc directive naming it (``autoclass``, ``autofunction``, ...), by
``automodule`` of its module with ``:members:`` (which renders the module's ``__all__``, less
``:exclude-members:``, and only names with a docstring), or by a hand-written ``py:*``
directive (data such as ``__version__``, which cannot carry a docstring).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pathlib
import re
import types
from dataclasses import dataclass, field
from typing import Any

import fastoptim

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"

# Modules of the package that are not API pages of their own; any other (a new one too) is.
NOT_API = {
    "optim": "its classes are exported as fastoptim.<Name> and documented there",
    "checkpoint": "save/load are exported as fastoptim.save/load",
    "clip": "its functions are exported as fastoptim.clip_grad_norm_ & co.",
    "ema": "EMA is exported as fastoptim.EMA",
    "demo": "a program (python -m fastoptim.demo) that needs matplotlib; see the quickstart",
}

_DIRECTIVE = re.compile(r"^\s*\.\.\s+(?P<kind>auto\w+|py:\w+|currentmodule|module)::\s*"
                        r"(?P<target>\S*)\s*$")
_OPTION = re.compile(r"^\s+:(?P<name>[\w-]+):\s*(?P<value>.*?)\s*$")
_MODULE_KINDS = {"automodule", "py:module", "module"}
_CURRENT_KINDS = _MODULE_KINDS | {"currentmodule", "py:currentmodule"}


@dataclass
class Directive:
    kind: str
    target: str
    where: str
    options: dict[str, str] = field(default_factory=dict)


def directives() -> list[Directive]:
    """Every autodoc and py: directive of docs/**/*.rst, targets made absolute."""
    found = []
    for path in sorted(DOCS.rglob("*.rst")):
        if "_build" in path.parts:
            continue
        current = None
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            match = _DIRECTIVE.match(line)
            if not match:
                continue
            kind, target = match["kind"], match["target"]
            if kind in _CURRENT_KINDS:
                current = target or None
            elif current and not target.startswith("fastoptim"):
                target = f"{current}.{target}"
            d = Directive(kind, target, f"{path.relative_to(DOCS)}:{number + 1}")
            for option in lines[number + 1:]:
                opt = _OPTION.match(option)
                if not opt:
                    break
                d.options[opt["name"]] = opt["value"]
            found.append(d)
    return found


@dataclass
class Api:
    """A module's public names: name -> its docstring ("" for none), or None where it cannot
    be known without importing an optional dependency, or where the object is data."""

    module: str
    names: dict[str, str | None]
    submodules: set[str]  # the names that are modules


def _has_doc(obj: Any) -> str | None:
    if inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj):
        return (obj.__doc__ or "").strip()  # own docstring: a class's is not inherited
    return None  # data: an int or str carries its type's docstring, not one of its own


def _static_api(name: str) -> Api:
    # A public module whose optional dependency (torch, mpi4py, ...) is missing here: read
    # its __all__ and docstrings from the source.
    spec = importlib.util.find_spec(name)
    tree = ast.parse(pathlib.Path(spec.origin).read_text(encoding="utf-8"))
    docs: dict[str, str] = {}
    public = None
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            docs[node.name] = (ast.get_docstring(node) or "").strip()
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            # a class made by a factory (fastoptim.torch's): its docstring exists only once
            # imported, which the runs with the dependency check
            for t in node.targets:
                if isinstance(t, ast.Name):
                    docs[t.id] = "(made at import)"
        elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            public = ast.literal_eval(node.value)
    assert public is not None, f"{name}: no literal __all__ to read without importing it"
    return Api(name, {n: docs.get(n) for n in public}, set())


def api(name: str) -> Api:
    try:
        module = importlib.import_module(name)
    except ImportError:
        return _static_api(name)
    public = getattr(module, "__all__", None)
    assert public is not None, f"{name} has no __all__"
    names = {n: _has_doc(getattr(module, n)) for n in public}
    return Api(name, names, {n for n in public if inspect.ismodule(getattr(module, n))})


def public_modules() -> list[str]:
    """fastoptim, the modules its __all__ names (recursively), and every other non-underscore
    module of the package (a new one is public unless listed in NOT_API)."""
    found, todo = [], ["fastoptim"]
    while todo:
        name = todo.pop(0)
        if name not in found:
            found.append(name)
            todo += [f"{name}.{sub}" for sub in sorted(api(name).submodules)]
    package = pathlib.Path(fastoptim.__file__).parent
    for path in sorted(package.iterdir()):
        stem = path.name[:-3] if path.suffix == ".py" else path.name
        is_module = path.suffix == ".py" or (path / "__init__.py").is_file()
        if is_module and not stem.startswith("_") and stem not in NOT_API:
            name = f"fastoptim.{stem}"
            if name not in found:
                found.append(name)
    return found


def documented() -> set[str]:
    """The absolute names the .rst sources document."""
    names = set()
    for d in directives():
        names.add(d.target)
        if d.kind == "automodule" and "members" in d.options:
            module = api(d.target)
            listed = [m.strip() for m in d.options["members"].split(",") if m.strip()]
            excluded = {m.strip() for m in d.options.get("exclude-members", "").split(",")}
            undoc = "undoc-members" in d.options
            for member in listed or module.names:
                doc = module.names.get(member)
                # automodule renders neither submodules nor names without a docstring
                if member not in module.submodules and member not in excluded and (
                        doc or (undoc and member in module.names)):
                    names.add(f"{d.target}.{member}")
    return names


def test_every_public_name_is_documented():
    covered = documented()
    missing = [f"{m}.{n}" for m in public_modules() for n in api(m).names
               if f"{m}.{n}" not in covered]
    assert not missing, ("public names in no autodoc directive of docs/*.rst (add them, or an "
                         f"automodule with :members: of their module): {missing}")


def test_every_public_name_has_a_docstring():
    lacking = [f"{m}.{n}" for m in public_modules() for n, doc in api(m).names.items()
               if doc == ""]
    assert not lacking, f"public names without a docstring: {lacking}"


def test_public_modules_have_a_docstring():
    for name in public_modules():
        module = importlib.util.find_spec(name)
        assert module is not None, name
        source = pathlib.Path(module.origin).read_text(encoding="utf-8")
        assert (ast.get_docstring(ast.parse(source)) or "").strip(), f"{name}: no docstring"


def _resolve(target: str) -> Any:
    try:  # a module whose optional dependency is missing here: that it exists is enough
        if importlib.util.find_spec(target) is not None and target.startswith("fastoptim."):
            try:
                return importlib.import_module(target)
            except ImportError:
                return importlib.util.find_spec(target)
    except (ImportError, ValueError):
        pass  # not a module (find_spec of a dotted name below a non-package)
    parts = target.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(target)


def test_autodoc_targets_exist():
    """A renamed or removed name fails here, not first in the docs build."""
    for d in directives():
        if d.kind.startswith("auto"):
            try:
                _resolve(d.target)
            except (ImportError, AttributeError) as e:
                raise AssertionError(f"{d.where}: {d.kind}:: {d.target}: {e!r}") from None


def test_data_is_described_by_hand():
    # autodoc cannot give data a docstring of its own: it needs a py:data directive with text.
    data = {f"{m}.{n}" for m in public_modules() for n, doc in api(m).names.items()
            if doc is None and isinstance(_resolve(f"{m}.{n}"), (str, int, float, tuple))}
    described = {d.target for d in directives() if d.kind in ("py:data", "autodata")}
    assert data <= described, sorted(data - described)


def test_in_development_pages_exist():
    # Placeholders until fastoptim.lowp / .distributed / .torch land (with automodule then).
    for page in ("lowp", "distributed", "from_torch"):
        text = (DOCS / f"{page}.rst").read_text(encoding="utf-8")
        module = {"from_torch": "torch"}.get(page, page)
        if importlib.util.find_spec(f"fastoptim.{module}") is None:
            assert "In development" in text, page


def test_module_types_are_not_confused():
    assert isinstance(fastoptim.reference, types.ModuleType)
    assert "fastoptim.reference.kernels" in public_modules()
