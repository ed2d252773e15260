"""A Torch7-style neural-network engine in numpy: modules, criteria, optimizers.

The lecture's forward equations ``z^l = W^l a^{l-1} + b^l``, ``a^l = f(z^l)``
and back-propagation equations ``delta^l = (W^{l+1})^T delta^{l+1} ⊙ f'(z^l)``,
``dL/dW^l = delta^l (a^{l-1})^T``, ``dL/db^l = delta^l`` -- on minibatches
whose rows are samples.

>>> import numpy as np
>>> from sknn_backprop import nn
>>> model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2), nn.Sigmoid())
>>> criterion = nn.MSECriterion()
>>> rng = np.random.default_rng(0)
>>> inputs, targets = rng.normal(size=(500, 3)), rng.normal(size=(500, 2))
>>> loss = criterion.forward(model.forward(inputs), targets)
>>> model.backward(inputs, criterion.backward(model.output, targets)).shape
(500, 3)
"""

from . import embedding, init, layers, normalization, optim, table
from ._fast import choose as choose_fast_path
from .activation import (
    GELU,
    SELU,
    Abs,
    Exp,
    Identity,
    LeakyReLU,
    LogSoftmax,
    Mish,
    ParametricActivation,
    PReLU,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from .conv import Conv2d
from .criterion import (
    AbsCriterion,
    BCECriterion,
    BCEWithLogitsCriterion,
    ClassNLLCriterion,
    Criterion,
    CrossEntropyCriterion,
    MSECriterion,
    PoissonNLLCriterion,
    SmoothL1Criterion,
)
from .embedding import LookupTable, PeriodicEmbedding, Scale
from .gradcheck import gradient_check
from .layers import (
    Dropout,
    Flatten,
    GaussianNoise,
    L1Penalty,
    RandomShift,
    Reshape,
    TrainingOnly,
)
from .linear import Linear, NTPLinear, TiedLinear
from .module import Container, Module, Sequential
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop
from .pooling import AvgPool2d, MaxPool2d
from .table import CAddTable, ConcatTable, JoinTable, Narrow, ParallelTable, Select

__all__ = [
    "Module",
    "Container",
    "Sequential",
    "Linear",
    "TiedLinear",
    "NTPLinear",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "Identity",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "PReLU",
    "Abs",
    "Exp",
    "GELU",
    "SiLU",
    "Mish",
    "SELU",
    "ParametricActivation",
    "Softmax",
    "LogSoftmax",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "ConcatTable",
    "ParallelTable",
    "JoinTable",
    "CAddTable",
    "Narrow",
    "Select",
    "LookupTable",
    "Scale",
    "PeriodicEmbedding",
    "Dropout",
    "GaussianNoise",
    "RandomShift",
    "Flatten",
    "Reshape",
    "L1Penalty",
    "TrainingOnly",
    "Criterion",
    "MSECriterion",
    "AbsCriterion",
    "SmoothL1Criterion",
    "ClassNLLCriterion",
    "CrossEntropyCriterion",
    "BCECriterion",
    "BCEWithLogitsCriterion",
    "PoissonNLLCriterion",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "gradient_check",
    "choose_fast_path",
    "embedding",
    "init",
    "layers",
    "normalization",
    "optim",
    "table",
]
