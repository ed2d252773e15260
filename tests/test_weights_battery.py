"""Refactoring changes no number: every battery fit gives its recorded weights.

See ``tests/_battery.py`` for the fits and how to regenerate the record.
"""

import numpy as np
import pytest

from tests._battery import BATTERY, DATA, record

RECORDED = np.load(DATA)


@pytest.mark.parametrize("name", list(BATTERY))
def test_battery_fit_gives_recorded_numbers(name):
    got = record(name)
    expected = {k: RECORDED[k] for k in RECORDED.files if k.split("/")[0] == name}
    assert sorted(got) == sorted(expected), "the fit has other parameters or outputs"
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-9, atol=1e-12, err_msg=key)
