"""Every script in ``examples/`` runs to completion in quick mode.

The scripts are globbed, so examples added later are picked up; each one is a
separate test named after its file.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def _run(script, cwd, *args):
    env = dict(os.environ)
    env["SKNN_EXAMPLES_QUICK"] = "1"
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    proc = _run(script, tmp_path)
    assert proc.returncode == 0, (
        f"{script.name} exited with {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-5000:]}"
    )
    assert proc.stdout.strip(), f"{script.name} printed nothing"


def test_engine_xor_saves_figure(tmp_path):
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib is not installed")
    target = tmp_path / "figures" / "xor.png"
    proc = _run(ROOT / "examples" / "engine_xor.py", tmp_path, "--output", str(target))
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert "classification errors: 0 / 4" in proc.stdout
    assert target.stat().st_size > 0


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_survives_sphinx_gallery_in_process(script):
    """sphinx-gallery runs each script in-process: ``__doc__.splitlines()[0]`` raises
    there, and ``raise SystemExit(main())`` ends the whole build with status 0 and no
    HTML (``tests/docs/test_gallery.py`` builds it; this is the fast check of the two habits)."""
    source = script.read_text()
    assert "__doc__.splitlines()" not in source, "use __doc__.partition('\\n')[0]"
    assert "raise SystemExit(main())" not in source, "exit only on failure: if status: ..."
