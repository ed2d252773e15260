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
