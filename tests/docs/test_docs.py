"""The Sphinx site builds without a warning and every ``>>>`` example in it passes.

Runs ``python -m sphinx -W --keep-going -b html docs <tmp>`` and
``python -m sphinx -b doctest docs <tmp>`` in subprocesses (a fresh interpreter,
as a user would).  Skipped when Sphinx or numpydoc is not installed
(``pip install ".[docs]"``).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _sphinx(builder, out_dir, *options):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("sphinx_gallery")
    env = dict(os.environ)
    # the examples train small networks: one BLAS thread avoids oversubscribing the
    # cores (and keeps the build well under a minute on a busy 2-core machine)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    env.setdefault("MPLBACKEND", "Agg")
    cmd = [sys.executable, "-m", "sphinx", *options, "-b", builder, str(DOCS), str(out_dir)]
    proc = subprocess.run(
        cmd, cwd=DOCS.parent, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-5000:]}\n{proc.stderr}"
    return proc


def test_docs_build_html_without_warnings(tmp_path):
    _sphinx("html", tmp_path / "html", "-W", "--keep-going", "-q", "-d", str(tmp_path / "dt"))
    assert (tmp_path / "html" / "engine.html").is_file()


def test_docs_doctests_pass(tmp_path):
    proc = _sphinx("doctest", tmp_path / "doctest", "-q", "-d", str(tmp_path / "dt"))
    output = (tmp_path / "doctest" / "output.txt").read_text()
    assert "0 failures in tests" in output, output + proc.stdout
