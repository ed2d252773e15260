"""Sphinx configuration for the sknn_backprop user guide and API reference.

Build from the repository root with::

    sphinx-build -W --keep-going -b html docs docs/_build/html
    sphinx-build -b doctest docs docs/_build/doctest

The example gallery (sphinx-gallery, ``examples/`` -> ``docs/auto_examples``) shows
the scripts without running them; ``SKNN_GALLERY=1`` runs every example and adds its
printed output and figures (about 2 minutes on 2 idle cores; ``SKNN_GALLERY=quick``
runs them in their quick mode, ``SKNN_EXAMPLES_QUICK=1``)::

    SKNN_GALLERY=1 sphinx-build -W --keep-going -b html docs docs/_build/html

No extension needs the network at build time (``intersphinx_mapping`` is empty;
MathJax is loaded by the reader's browser).
"""

import doctest
import os
import re
import sys

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # _gallery_hooks

import sknn_backprop  # noqa: E402

project = "sknn_backprop"
author = "sknn_backprop developers"
copyright = "sknn_backprop developers, BSD-3-Clause"
version = release = sknn_backprop.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

# No network: intersphinx is loaded but has nothing to fetch.
intersphinx_mapping = {}

templates_path = []
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
nitpicky = False
default_role = "literal"  # `x` renders as code, as in the docstrings

# -- HTML ---------------------------------------------------------------------------
html_theme = "alabaster"
html_theme_options = {
    "description": "Neural networks for scikit-learn users, on a backprop engine you can read.",
    "fixed_sidebar": True,
}
html_static_path = []

# -- example gallery (sphinx-gallery) ------------------------------------------------
# Running every example takes minutes on 2 cores, too slow for the test suite's docs
# build (tests/test_docs.py): by default the gallery pages show each script's
# docstring and code without running it.  SKNN_GALLERY=1 runs them all (full size),
# SKNN_GALLERY=quick in their quick mode.
GALLERY = os.environ.get("SKNN_GALLERY", "")
if GALLERY == "quick":
    os.environ["SKNN_EXAMPLES_QUICK"] = "1"
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",  # every example is run when the gallery is run
    "plot_gallery": "True" if GALLERY else "False",
    "reset_argv": "_gallery_hooks.example_output_dir",  # each figure to its own directory
    "image_scrapers": ("matplotlib", "_gallery_hooks.saved_figures_scraper"),
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "min_reported_time": 5,
    "show_memory": False,
}

# -- autodoc / numpydoc -------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# The estimators are written in parallel with the engine.  An estimator that
# ``sknn_backprop`` does not export yet is left out of ``api_estimators.rst`` (its
# autoclass block is replaced by a note when the page is read), and the doctests
# that use it are skipped (``:skipif: not HAVE_MLP``, ``HAVE_BAGGING``, ``HAVE_CONVNET``).  As
# soon as it is exported, its entry and its doctests are built and checked again.
ESTIMATORS = ("MLPClassifier", "MLPRegressor", "ConvNetClassifier")
MISSING_ESTIMATORS = [name for name in ESTIMATORS if not hasattr(sknn_backprop, name)]


def _drop_missing_estimators(app, docname, source):
    if docname != "api_estimators":
        return
    for name in MISSING_ESTIMATORS:
        block = re.compile(rf"^\.\. autoclass:: {name}\n(?:[ \t]+.*\n|\n)*", re.MULTILINE)
        note = f".. note::\n\n   ``{name}`` is not available in this version.\n\n"
        source[0] = block.sub(note, source[0])


def setup(app):
    app.connect("source-read", _drop_missing_estimators)


# -- doctest ------------------------------------------------------------------------
doctest_default_flags = (
    doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.IGNORE_EXCEPTION_DETAIL
)
doctest_global_setup = """
import importlib.util
import numpy as np
import sknn_backprop
HAVE_MLP = hasattr(sknn_backprop, "MLPClassifier") and hasattr(sknn_backprop, "MLPRegressor")
HAVE_CONVNET = hasattr(sknn_backprop, "ConvNetClassifier")
HAVE_BAGGING = HAVE_MLP and importlib.util.find_spec("sknn_backprop._bagging") is not None
"""
