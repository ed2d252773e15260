"""``python -m sknn_backprop --quick``: the README's demo runs, prints its table and figure."""

import importlib.util

from sknn_backprop.__main__ import FIGURE_NAME, main


def test_quick_demo(tmp_path, capsys):
    assert main(["--quick", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    names = ["LogisticRegression", "MLPClassifier", "Bagged dropout MLP", "ConvNetClassifier"]
    table = out[out.index("accuracy") :]
    for name in names:
        assert name in table, name
    assert "fold 1/3" in out
    assert "best parameters:" in out
    figure = tmp_path / FIGURE_NAME
    if importlib.util.find_spec("matplotlib") is not None:
        assert figure.stat().st_size > 0
        assert "figure saved" in out
    else:
        assert not figure.exists()
        assert "figure skipped" in out
