"""Torch7's traversal on every module: ``list_modules``, ``find_modules``, ``apply``, ``dtype``."""

import numpy as np

from sknn_backprop import nn


def _nested():
    inner = nn.Sequential(nn.ReLU(), nn.Linear(3, 1))
    return nn.Sequential(nn.Linear(2, 3), inner, nn.Sigmoid()), inner


def test_list_modules_is_depth_first_and_includes_self():
    net, inner = _nested()
    listed = net.list_modules()
    assert listed[0] is net
    assert [type(m).__name__ for m in listed] == [
        "Sequential", "Linear", "Sequential", "ReLU", "Linear", "Sigmoid"
    ]
    assert listed[2] is inner
    # a leaf lists itself only
    relu = nn.ReLU()
    assert relu.list_modules() == [relu] and relu.children() == []


def test_find_modules_opens_nested_containers():
    net, inner = _nested()
    linears = net.find_modules(nn.Linear)
    assert linears == [net.modules[0], inner.modules[1]]
    assert net.find_modules(nn.Sequential) == [net, inner]
    assert net.find_modules((nn.ReLU, nn.Sigmoid)) == [inner.modules[0], net.modules[2]]
    assert net.find_modules(nn.Dropout) == []


def test_apply_visits_every_module_once_in_order():
    net, _ = _nested()
    seen = []
    assert net.apply(seen.append) is net
    assert seen == net.list_modules()


def test_dtype_follows_the_parameters():
    net, _ = _nested()
    assert net.dtype == np.float64
    assert nn.Linear(2, 2, dtype=np.float32).dtype == np.float32
    assert net.astype(np.float32).dtype == np.float32
    assert nn.ReLU().dtype is None
