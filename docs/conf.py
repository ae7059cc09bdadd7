"""Sphinx configuration: fastoptim's API reference, built from its docstrings.

    pip install ".[docs]" && sphinx-build -W --keep-going -b html docs docs/_build/html

fastoptim must be installed (autodoc imports it; the extension is not built from here).
Nothing is fetched at build time: MathJax is loaded by the reader's browser.
"""

from sphinx.ext.autodoc import ClassDocumenter

import fastoptim

project = "fastoptim"
author = "fastoptim developers"
copyright = "fastoptim developers"
release = fastoptim.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # the docstrings' "Args:" sections (Google style)
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]

exclude_patterns = ["_build"]
html_theme = "alabaster"
html_title = f"fastoptim {release}"

autodoc_member_order = "bysource"
# fastoptim.torch imports torch, which the docs build does not install
autodoc_mock_imports = ["torch"]
autodoc_typehints = "signature"
napoleon_google_docstring = True
napoleon_numpy_docstring = False


def _reference_summary(app, what, name, obj, options, lines):
    # fastoptim.reference.X carries fastoptim.X's whole docstring after a first paragraph
    # that links to it: render the formula once, on the native class.
    if what == "class" and name.startswith("fastoptim.reference.") and "" in lines:
        del lines[lines.index(""):]


# napoleon reads the first line of an attribute's or property's docstring as "type:
# description" (Google style); ours are sentences ("... at every step (None: off)") and the
# types come from the annotations. The first line's colons are hidden from napoleon and put back
# after it.
_COLON = "\ue000"  # a private-use character, never in a docstring


def _hide_first_colon(app, what, name, obj, options, lines):
    if what in ("attribute", "data", "property") and lines:
        lines[0] = lines[0].replace(":", _COLON)


def _restore_colons(app, what, name, obj, options, lines):
    lines[:] = [line.replace(_COLON, ":") for line in lines]


class PublicNameClassDocumenter(ClassDocumenter):
    """A class published under another name (``schedules.constant = Constant``) is documented
    under that name with its signature and docstring, instead of as "alias of Constant": the
    public name is the one users call."""

    def import_object(self, raiseerror: bool = False) -> bool:
        found = super().import_object(raiseerror)
        if found:
            self.doc_as_attr = False
        return found


def setup(app):
    app.connect("autodoc-process-docstring", _reference_summary)
    app.connect("autodoc-process-docstring", _hide_first_colon, priority=400)  # before napoleon
    app.connect("autodoc-process-docstring", _restore_colons, priority=600)  # after it
    app.add_autodocumenter(PublicNameClassDocumenter, override=True)
