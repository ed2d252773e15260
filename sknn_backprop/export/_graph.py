"""ONNX nodes for an ``nn.Sequential``: one small converter per module type.

:data:`MODULE_CONVERTERS` maps each supported ``nn`` module type to a function
``convert(g, module, x) -> y`` that emits the module's prediction-time
(``infer``) computation on the tensor named ``x`` and returns the name of its
output.  Adding a module to the export is one such function and one entry in
the dict.
"""

import numpy as np
from onnx import TensorProto, numpy_helper

from .. import nn

__all__ = ["Graph", "MODULE_CONVERTERS", "network_graph", "module_converter"]

_PROTO = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}

#: ops that onnxruntime's CPU provider only implements for float32: a double
#: graph runs them in float32 between two casts
FLOAT_ONLY_OPS = frozenset({"Conv", "AveragePool"})


class Graph:
    """Adds the nodes of one converter to skl2onnx's container, in one float dtype.

    Parameters
    ----------
    scope : skl2onnx.common._topology.Scope
        Gives unique names to the tensors and nodes.
    container : skl2onnx.common._container.ModelComponentContainer
        Receives the nodes and initializers.
    dtype : {numpy.float32, numpy.float64}
        Dtype of the computation: the weights are stored in it.
    """

    def __init__(self, scope, container, dtype):
        self.scope, self.container = scope, container
        self.dtype = np.dtype(dtype)
        self.proto = _PROTO[self.dtype]

    def const(self, value, hint="const", dtype=None):
        """An initializer holding ``value`` (in the graph's dtype unless ``dtype``)."""
        value = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        name = self.scope.get_unique_variable_name(hint)
        if value.dtype == object:  # strings (bytes): a string tensor cannot hold raw data
            self.container.add_initializer(
                name, TensorProto.STRING, value.shape, list(value.ravel())
            )
        else:
            tensor = numpy_helper.from_array(value, name)
            self.container.add_initializer(name, tensor.data_type, list(value.shape), tensor)
        return name

    def op(self, op_type, inputs, output=None, domain="", **attrs):
        """Add one node; return the name of its (single) output."""
        output = output or self.scope.get_unique_variable_name(op_type.lower())
        name = self.scope.get_unique_operator_name(op_type)
        self.container.add_node(op_type, inputs, output, op_domain=domain, name=name, **attrs)
        return output

    def cast(self, x, proto):
        return self.op("Cast", [x], to=proto)

    def float_op(self, op_type, x, weights, **attrs):
        """``op_type(x, *weights)``, in float32 between casts when the graph is double."""
        if op_type not in FLOAT_ONLY_OPS or self.dtype == np.float32:
            return self.op(op_type, [x, *(self.const(w) for w in weights)], **attrs)
        consts = [self.const(w, dtype=np.float32) for w in weights]
        y = self.op(op_type, [self.cast(x, TensorProto.FLOAT), *consts], **attrs)
        return self.cast(y, self.proto)


# --------------------------------------------------------------- converters
def _linear(g, m, x):
    y = g.op("MatMul", [x, g.const(m.weight.T, "weight")])
    return y if m.bias is None else g.op("Add", [y, g.const(m.bias, "bias")])


def _unary(op_type, **attrs):
    def convert(g, m, x):
        return g.op(op_type, [x], **attrs)

    convert.__name__ = f"_{op_type.lower()}"
    return convert


def _leaky_relu(g, m, x):
    # max(z, s z), exactly the engine's formula (LeakyRelu's alpha is a float32 attribute)
    return g.op("Max", [x, g.op("Mul", [x, g.const(m.negative_slope, "slope")])])


def _identity(g, m, x):
    """``Identity`` and the training-only layers (dropout, noise, shifts): no node."""
    return x


def _flatten(g, m, x):
    return g.op("Flatten", [x], axis=1)


def _reshape(g, m, x):
    shape = g.const([0, *m.shape], "shape", dtype=np.int64)  # 0: keep the batch axis
    return g.op("Reshape", [x, shape])


def _conv2d(g, m, x):
    (ph, pw) = m.padding
    weights = [m.weight] if m.bias is None else [m.weight, m.bias]
    return g.float_op(
        "Conv",
        x,
        weights,
        kernel_shape=list(m.kernel_size),
        strides=list(m.stride),
        pads=[ph, pw, ph, pw],
    )


def _max_pool2d(g, m, x):
    # no padding, floor-sized output: windows that cross the border are dropped
    return g.op("MaxPool", [x], kernel_shape=list(m.kernel_size), strides=list(m.stride))


def _avg_pool2d(g, m, x):
    # no padding, floor-sized output, as the engine's AvgPool2d
    return g.float_op(
        "AveragePool", x, [], kernel_shape=list(m.kernel_size), strides=list(m.stride)
    )


def _batch_norm(g, m, x):
    """Eval mode: ``y = a x + c`` with the running statistics (``a``, ``c`` per channel)."""
    a, c = m._eval_coefficients(g.dtype)
    shape = (-1,) if isinstance(m, nn.BatchNorm1d) else (-1, 1, 1)  # channels of (N, C, H, W)
    y = g.op("Mul", [x, g.const(a.reshape(shape), "bn_scale")])
    return g.op("Add", [y, g.const(c.reshape(shape), "bn_shift")])


def _sequential(g, m, x):
    return network_graph(g, m, x)


#: ``nn`` module type -> ``convert(g, module, x) -> y`` (exact types: a subclass
#: may compute something else, so it needs its own entry)
MODULE_CONVERTERS = {
    nn.Linear: _linear,
    nn.Identity: _identity,
    nn.Sigmoid: _unary("Sigmoid"),
    nn.Tanh: _unary("Tanh"),
    nn.ReLU: _unary("Relu"),
    nn.LeakyReLU: _leaky_relu,
    nn.Abs: _unary("Abs"),
    nn.Exp: _unary("Exp"),
    nn.Softmax: _unary("Softmax", axis=-1),
    nn.LogSoftmax: _unary("LogSoftmax", axis=-1),
    nn.Dropout: _identity,
    nn.GaussianNoise: _identity,
    nn.RandomShift: _identity,
    nn.Flatten: _flatten,
    nn.Reshape: _reshape,
    nn.Conv2d: _conv2d,
    nn.MaxPool2d: _max_pool2d,
    nn.AvgPool2d: _avg_pool2d,
    nn.BatchNorm1d: _batch_norm,
    nn.BatchNorm2d: _batch_norm,
    nn.L1Penalty: _identity,
    nn.Sequential: _sequential,
}


def module_converter(module):
    """The converter of ``module``; ``NotImplementedError`` naming it if there is none."""
    try:
        return MODULE_CONVERTERS[type(module)]
    except KeyError:
        supported = ", ".join(sorted(f"nn.{t.__name__}" for t in MODULE_CONVERTERS))
        raise NotImplementedError(
            f"nn.{type(module).__name__} is not supported by the ONNX export; "
            f"supported modules: {supported}."
        ) from None


def network_graph(g, model, x):
    """Emit the nodes of ``model`` (an ``nn.Sequential``) on ``x``; return the output name.

    Parameters
    ----------
    g : Graph
        Where the nodes go.
    model : nn.Sequential or list of nn.Module
        The network, as its ``infer`` (prediction mode) computes it.
    x : str
        Name of the input tensor, already in the layout the first module expects.

    Returns
    -------
    y : str
        Name of the network's output tensor.
    """
    modules = model.modules if isinstance(model, nn.Sequential) else list(model)
    for module in modules:  # look every converter up first: fail before emitting nodes
        module_converter(module)
    for module in modules:
        x = module_converter(module)(g, module, x)
    return x
