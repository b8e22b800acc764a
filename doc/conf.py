"""Sphinx configuration for the skadapt documentation.

Build with ``make -C doc html`` (warnings are errors). The gallery examples are
not executed by default; ``SKADAPT_DOCS_RUN_EXAMPLES=1 make -C doc html`` runs
them and embeds their figures. The build needs no network: intersphinx links to
Python, NumPy and scikit-learn are only fetched with ``SKADAPT_DOCS_INTERSPHINX=1``.
"""

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the package, also without an install

import skadapt  # noqa: E402


def _env_flag(name, default="False"):
    """Whether the environment variable ``name`` is set to a true value."""
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes", "on"}


# -- Project -----------------------------------------------------------------

project = "skadapt"
author = "the skadapt developers"
copyright = "the skadapt developers"
release = skadapt.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------

extensions = [
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    "**/README.md",  # notes for contributors, not pages
]
templates_path = []

# -- autodoc / autosummary / numpydoc ----------------------------------------

autosummary_generate = False  # api.rst documents everything on one page
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
numpydoc_xref_param_type = False

# -- intersphinx (offline by default) ----------------------------------------

_INTERSPHINX = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
}
intersphinx_mapping = _INTERSPHINX if _env_flag("SKADAPT_DOCS_INTERSPHINX") else {}

# -- MyST (the Markdown pages are included as they are) ----------------------

myst_heading_anchors = 3

# -- sphinx-gallery ----------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # Not executed by default (the test suite runs the examples separately).
    "plot_gallery": _env_flag("SKADAPT_DOCS_RUN_EXAMPLES"),
    "download_all_examples": False,
}

# -- HTML --------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skadapt {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = []

# -- The benchmark pages may not exist yet -------------------------------------

_EMPTY_GLOB_TOCTREE = re.compile(r"```\{toctree\}\n:glob:\n.*?```\n", re.DOTALL)


def _drop_empty_benchmark_toctree(app, docname, source):
    """Replace the glob toctree of ``benchmarks/index`` while it would match nothing.

    Sphinx warns on a glob that matches no document (without a warning type,
    so ``suppress_warnings`` cannot silence it); the page then says so instead.
    """
    if docname != "benchmarks/index":
        return
    pages = [d for d in app.env.found_docs if d.startswith("benchmarks/") and d != docname]
    if not pages:
        source[0] = _EMPTY_GLOB_TOCTREE.sub("*No benchmark pages yet.*\n", source[0])


def setup(app):
    app.connect("source-read", _drop_empty_benchmark_toctree)
