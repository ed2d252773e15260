"""Every test of the docs, examples, README and demo is ``slow``: ``pytest -m "not slow"``
runs the fast part of the suite alone (CI runs everything)."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.slow)
