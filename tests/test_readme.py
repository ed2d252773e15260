"""The README's Python examples run as written (in order, in one namespace)."""

import re
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 3
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "nn.Sequential" in out and "grad_weight" in out
    assert namespace["search"].best_score_ > 0.9
    assert namespace["cnn"].score(namespace["X"] / 16, namespace["y"]) > 0.95
