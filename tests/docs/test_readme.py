"""The README's Python examples run as written, each pasted alone.

Every ```python block is executed in a fresh namespace: a reader who copies one
block into a new interpreter gets no NameError from a variable another block set.
"""

import re
import warnings
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def _run(block):
    namespace = {"__name__": "__readme__"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        exec(compile(block, str(README), "exec"), namespace)
    return namespace


def test_readme_has_its_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=lambda i: f"block{i + 1}")
def test_readme_block_runs_alone(index, capsys):
    namespace = _run(BLOCKS[index])
    out = capsys.readouterr().out
    if "search" in namespace:
        assert namespace["search"].best_score_ > 0.9
        assert "nn.Sequential" in out  # the printed network
    if "cnn" in namespace:
        assert namespace["cnn"].score(namespace["X"] / 16, namespace["y"]) > 0.95
    if "codes" in namespace:  # the autoencoder's codes feed a logistic regression
        assert float(out.split()[-1]) > 0.9
    if "criterion" in namespace:
        assert "nn.Linear(3 -> 4)" in out and "grad_weight" in out


# -- what the README says about itself holds (issue 24) ------------------------------

TEXT = README.read_text()
ROOT = README.parent


def test_readme_names_the_optional_extras_and_how_to_build_the_docs():
    for extra in ('".[onnx]"', '".[examples]"', '".[docs]"'):
        assert extra in TEXT
    assert "ONNX export" in TEXT and "sphinx-build docs docs/_build/html" in TEXT


def test_readme_says_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "--upgrade pip" in ci and '--quick"' in ci and "ruff check" in ci
    assert "exactly these" not in TEXT
    assert "upgrades pip" in TEXT and "python -m sknn_backprop --quick" in TEXT


def test_readme_quotes_only_measured_times():
    # every duration quoted sits in a sentence that says it was measured
    for sentence in re.split(r"(?<=[.;)])\s", TEXT.replace("\n", " ")):
        if re.search(r"\b\d+(\.\d+)?(-\d+)? ?(s|min)\b", sentence):
            assert "measured" in sentence, sentence


def test_readme_and_migration_guide_quote_one_weight_agreement():
    migration = (ROOT / "docs" / "migration.rst").read_text()
    assert "within 3e-14" in TEXT and "within ``3e-14``" in migration
    assert "1e-15 on digits" not in TEXT and "``2e-15``" not in migration
