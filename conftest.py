"""Root test set-up: the ONNX export's modules import skl2onnx on purpose (with a
clear error when it is missing), so ``--doctest-modules`` skips them without it."""

import importlib.util

collect_ignore_glob = []
if importlib.util.find_spec("skl2onnx") is None or importlib.util.find_spec("onnx") is None:
    collect_ignore_glob.append("sknn_backprop/export/*")
