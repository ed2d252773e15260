"""The example gallery builds with every example run (``SKNN_GALLERY=quick``).

sphinx-gallery runs each script in-process, with ``__doc__`` and ``sys.exit``
behaving otherwise than under ``python script.py`` (``tests/docs/test_examples.py``):
a script that reads ``__doc__.splitlines()[0]`` or ends in
``raise SystemExit(main())`` breaks the build, or ends it early with no HTML
and exit status 0.  This test runs ``sphinx-build -W --keep-going`` with the
docs' own ``conf.py`` and gallery settings on a project that holds only the
gallery (the guide and API pages are built by ``tests/docs/test_docs.py``; here
they would only add time), then checks that every example got a page with its
printed output.  ``examples/`` and ``sknn_backprop/`` are linked, not copied; the
build writes only under ``tmp_path``.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

INDEX = """\
Gallery only
============

.. toctree::

   auto_examples/index

.. _building-the-gallery:

Building the gallery
--------------------

The real page is ``docs/getting_started.rst``.
"""


@pytest.mark.slow
def test_gallery_builds_and_every_example_has_a_page_with_its_output(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("sphinx_gallery")
    pytest.importorskip("matplotlib")
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("conf.py", "_gallery_hooks.py"):
        shutil.copy(ROOT / "docs" / name, docs / name)
    (docs / "index.rst").write_text(INDEX)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    (tmp_path / "sknn_backprop").symlink_to(ROOT / "sknn_backprop")
    env = dict(os.environ, SKNN_GALLERY="quick", MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    html = tmp_path / "html"
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
           "-d", str(tmp_path / "doctrees"), str(docs), str(html)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=900)  # fmt: skip
    assert proc.returncode == 0, f"{' '.join(cmd)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-8000:]}"
    missing, not_run = [], []
    for script in EXAMPLES:
        page = html / "auto_examples" / (script.stem + ".html")
        if not page.is_file():
            missing.append(script.name)
        elif "sphx-glr-script-out" not in page.read_text():  # the printed output block
            not_run.append(script.name)
    assert not missing, f"no HTML page for {missing}"
    assert not not_run, f"pages without the scripts' output: {not_run}"
