"""Placeholder: Conv2d and MaxPool2d are being written (see issue 5)."""

from .module import Module


class Conv2d(Module):
    pass


class MaxPool2d(Module):
    pass
