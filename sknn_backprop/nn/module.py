"""The module contract (after Torch7's ``nn/Module.lua``) and the ``Sequential`` container.

Every layer of the engine is a :class:`Module`.  Rows of an input array are
samples, so a minibatch of ``n`` vectors is an ``(n, d)`` array, and the lecture's
column-vector equations ``z = W a + b`` are applied to all rows at once as
``Z = A W^T + b``.
"""

from numbers import Integral, Real

import numpy as np

from . import _fast

__all__ = ["Module", "Container", "Sequential", "WeightBias"]


def check_int(name, value, low=1):
    """Return ``value`` as an int, or raise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def check_real(name, value, low=None, high=None, high_open=False):
    """Return ``value`` as a float in ``[low, high]`` (``[low, high)`` if
    ``high_open``), or raise ``ValueError`` naming ``name``."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(value)
    if ok and low is not None:
        ok = value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        bracket = ")" if high_open else "]"
        raise ValueError(f"{name} must be a real number in [{low}, {high}{bracket}, got {value!r}.")
    return float(value)


def _shape_str(a):
    if a is None:
        return "empty"
    return "x".join(str(s) for s in np.shape(a))


class Module:
    """Base class of every layer: ``forward``, ``backward`` and parameters.

    Subclasses implement the two halves of Torch7's backward pass:

    - ``update_output(x)`` computes the layer's output (the forward equation);
    - ``update_grad_input(x, grad_output)`` returns ``dL/dx`` given
      ``grad_output = dL/d(output)`` (the delta passed to the layer below);
    - ``acc_grad_parameters(x, grad_output, scale)`` **adds**
      ``scale * dL/dparam`` to the gradient arrays (``dL/dW = delta a^T``).

    ``forward`` caches the output in ``self.output`` (what backward needs);
    ``backward`` calls both halves and caches ``self.grad_input``.  ``infer``
    is the prediction path: eval-mode output that writes nothing on the
    module, so one fitted network can serve many threads at once.

    Attributes
    ----------
    output : ndarray or None
        Output of the last ``forward`` call (overwritten on each call).
    grad_input : ndarray or None
        Gradient with respect to the input from the last ``backward`` call.
    training : bool
        ``True`` in training mode; only stochastic modules (``Dropout``) read it.
    """

    #: whether ``update_output`` may return a view of its input
    returns_view = False

    def __init__(self):
        self.output = None
        self.grad_input = None
        self.training = True

    # -- the two passes -------------------------------------------------------------
    def forward(self, x):
        """Compute and cache the output for input ``x``; return it."""
        self.output = self.update_output(x)
        return self.output

    def backward(self, x, grad_output, scale=1.0):
        """Back-propagate ``grad_output`` (``dL/d output``) through the module.

        Accumulates ``scale * dL/dparam`` into the gradient arrays and returns
        ``dL/dx``.  ``x`` must be the input of the matching ``forward`` call.
        """
        self.grad_input = self.update_grad_input(x, grad_output)
        self.acc_grad_parameters(x, grad_output, scale)
        return self.grad_input

    def update_output(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def update_grad_input(self, x, grad_output):  # pragma: no cover - abstract
        raise NotImplementedError

    def acc_grad_parameters(self, x, grad_output, scale=1.0):
        """Add ``scale * dL/dparam`` to the gradients; no-op without parameters."""

    def infer(self, x, owned=False):
        """Eval-mode output for ``x`` without touching the module's state.

        ``owned=True`` says the caller owns ``x`` (a temporary), so the module
        may overwrite it instead of allocating.
        """
        return self.update_output(x)

    # -- the fast path's fused pairs (``_fast.py``; Sequential asks) ---------------
    def fuses_with(self, nxt):
        """Whether this module and ``nxt`` after it run as one fused layer on the fast path."""
        return False

    def fused_forward(self, nxt, x):  # pragma: no cover - modules that fuse override this
        """Forward through this module and ``nxt`` as one layer (see :meth:`fuses_with`)."""
        raise NotImplementedError

    def fused_backward(self, nxt, x, grad_output, scale, need_input_grad):  # pragma: no cover
        """Backward through the fused pair; ``x`` is this module's input."""
        raise NotImplementedError

    # -- parameters -----------------------------------------------------------------
    def parameters(self):
        """Return ``(params, grads)``: parallel lists of the same array objects."""
        return [], []

    def penalized(self):
        """Parallel to ``parameters()[0]``: ``True`` for weights, ``False`` for biases."""
        return []

    def zero_grad_parameters(self, lazy=False):
        """Set every accumulated gradient to zero.

        ``lazy=True`` (the training loop's) lets a layer skip the zero-fill when
        its next backward overwrites the gradient anyway (``Linear`` does).
        """
        for g in self.parameters()[1]:
            g.fill(0)

    def reset_parameters(self, rng):
        """Draw the parameters afresh from ``rng`` with the module's own initialiser.

        Written in place, so flattened views (``get_parameters``) stay valid.
        A no-op for modules without parameters; containers reset their children
        in order.
        """
        if self.parameters()[0]:  # pragma: no cover - modules with parameters override this
            raise NotImplementedError(f"{self!r} cannot reset its parameters.")

    def _rebind(self, params, grads):
        """Replace this module's own parameter arrays (used by ``get_parameters``)."""
        if params:  # pragma: no cover - modules with parameters override this
            raise NotImplementedError

    def get_parameters(self, penalized_first=False):
        """Flatten all parameters (and gradients) into two contiguous vectors.

        As Torch7's ``getParameters``: the modules' arrays become views into
        one flat parameter vector and one flat gradient vector, which are
        returned.  Optimizers then update the whole network with a handful of
        vectorised operations, and L-BFGS reads and writes it without packing.
        Call it once after building a network; it copies the current values.

        With ``penalized_first=True`` the weights (``penalized()``) are laid
        out before the biases, so a weight penalty touches one contiguous
        slice ``flat[:n_weights]``.
        """
        params, grads = self.parameters()
        flags = self.penalized()
        order = list(range(len(params)))
        if penalized_first:
            order.sort(key=lambda i: not flags[i])
        dtype = params[0].dtype if params else np.float64
        n = sum(p.size for p in params)
        flat_p = np.empty(n, dtype=dtype)
        flat_g = np.zeros(n, dtype=dtype)
        new_p, new_g, start = [None] * len(params), [None] * len(params), 0
        for i in order:
            p = params[i]
            end = start + p.size
            flat_p[start:end] = p.ravel()
            new_p[i] = flat_p[start:end].reshape(p.shape)
            new_g[i] = flat_g[start:end].reshape(p.shape)
            start = end
        self._assign(iter(new_p), iter(new_g))
        return flat_p, flat_g

    def _assign(self, params_it, grads_it):
        n = len(self.parameters()[0])
        self._rebind([next(params_it) for _ in range(n)], [next(grads_it) for _ in range(n)])

    # -- traversal (Torch7's listModules / findModules / apply) ---------------------
    def children(self):
        """The modules directly inside this one: a container's ``modules``, else none.

        Containers keep their children in a list attribute named ``modules``;
        everything below walks a network through this one method.
        """
        return list(getattr(self, "modules", ()))

    def list_modules(self):
        """This module and every module inside it, depth first (Torch7's ``listModules``).

        Examples
        --------
        >>> from sknn_backprop import nn
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
        >>> [type(m).__name__ for m in net.list_modules()]
        ['Sequential', 'Linear', 'Sequential', 'ReLU', 'Linear']
        """
        found = [self]
        for child in self.children():
            found += child.list_modules()
        return found

    def find_modules(self, cls):
        """Every module of type ``cls`` (a class or tuple of classes), depth first.

        Torch7's ``findModules``: nested containers are opened, and the module
        itself is included when it is an instance of ``cls``.

        Examples
        --------
        >>> from sknn_backprop import nn
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        >>> net.find_modules(nn.Linear)
        [nn.Linear(2 -> 3), nn.Linear(3 -> 1)]
        """
        return [m for m in self.list_modules() if isinstance(m, cls)]

    def apply(self, fn):
        """Call ``fn(module)`` on this module and every module inside it, depth first;
        return self (Torch7's ``apply``)."""
        for m in self.list_modules():
            fn(m)
        return self

    @property
    def dtype(self):
        """The dtype of the module's parameters (``None`` for a module without any)."""
        params = self.parameters()[0]
        return params[0].dtype if params else None

    # -- modes and randomness -------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (``mode=False`` is evaluation mode); return self."""
        self.training = bool(mode)
        return self

    def eval(self):
        """Set evaluation mode; return self."""
        return self.train(False)

    def set_rng(self, rng):
        """Hand a ``numpy.random.Generator`` to stochastic modules; return self."""
        if hasattr(self, "rng"):
            self.rng = rng
        return self

    def clear_state(self):
        """Drop cached activations and buffers (before pickling, say); return self."""
        for name in list(vars(self)):
            if name in ("output", "grad_input") or name.startswith("_buf"):
                setattr(self, name, None)
        return self

    def astype(self, dtype):
        """Cast parameters and gradients to ``dtype`` in place of the old arrays."""
        params, grads = self.parameters()
        if params and params[0].dtype != dtype:
            self._rebind([p.astype(dtype) for p in params], [g.astype(dtype) for g in grads])
        self.clear_state()
        return self

    # -- pickling -------------------------------------------------------------------
    _GRADS = (("grad_weight", "weight"), ("grad_bias", "bias"))

    def __getstate__(self):
        """Pickle parameters only: no cached activations, buffers or gradients."""
        state = self.__dict__.copy()
        for name in list(state):
            if name in ("output", "grad_input") or name.startswith("_buf"):
                state[name] = None
        for grad, _ in self._GRADS:
            if state.get(grad) is not None:
                state[grad] = None
        return state

    def __setstate__(self, state):
        for grad, param in self._GRADS:
            if grad in state and state[grad] is None and state.get(param) is not None:
                state[grad] = np.zeros_like(state[param])
        self.__dict__.update(state)

    # -- printing -------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        return f"nn.{type(self).__name__}" + (f"({extra})" if extra else "")

    def describe(self):
        """Torch7-style listing of the module's tensors and their sizes."""
        fields = {}
        for name in ("weight", "grad_weight", "bias", "grad_bias"):
            if hasattr(self, name):
                fields[name] = getattr(self, name)
        fields["grad_input"] = self.grad_input
        fields["output"] = self.output
        lines = [repr(self), "{"]
        for name, value in fields.items():
            dtype = "" if value is None else f"{np.asarray(value).dtype.name} "
            lines.append(f"  {name} : {dtype}- size: {_shape_str(value)}")
        lines.append("}")
        return "\n".join(lines)


class WeightBias:
    """Parameter plumbing of a layer with a ``weight`` and an optional ``bias``.

    Mixed into :class:`Linear` and :class:`Conv2d`: the weight is penalised, the
    bias never is, and ``get_parameters`` rebinds both to views of one vector.
    """

    def parameters(self):
        if self.bias is None:
            return [self.weight], [self.grad_weight]
        return [self.weight, self.bias], [self.grad_weight, self.grad_bias]

    def penalized(self):
        return [True] if self.bias is None else [True, False]

    def _rebind(self, params, grads):
        self.weight, self.grad_weight = params[0], grads[0]
        if self.bias is not None:
            self.bias, self.grad_bias = params[1], grads[1]


class NamedParameters:
    """Parameter plumbing of a module whose parameters are the attributes named in
    ``_PARAMS``, each with its gradient in ``grad_<name>``; ``_PENALIZED`` says, in the
    same order, which ones a weight penalty acts on.

    Mixed into the modules with a fixed set of parameters (``LookupTable``, ``Scale``,
    ``PeriodicEmbedding``, ``PReLU``, ``ParametricActivation``).
    """

    _PARAMS = ("weight",)
    _PENALIZED = (True,)

    def parameters(self):
        return (
            [getattr(self, name) for name in self._PARAMS],
            [getattr(self, f"grad_{name}") for name in self._PARAMS],
        )

    def penalized(self):
        return list(self._PENALIZED)

    def _rebind(self, params, grads):
        for name, p, g in zip(self._PARAMS, params, grads):
            setattr(self, name, p)
            setattr(self, f"grad_{name}", g)


def _fused_pairs(seq):
    """Fast path (``_fast.py``): the indices ``i`` where ``Sequential`` runs modules ``i``
    and ``i + 1`` as one fused layer (``modules[i].fuses_with(modules[i + 1])``: a
    ``Linear`` with a bias and the in-place ``ReLU`` after it, or a ``ReLU`` and the
    ``MaxPool2d`` after it).  Cached on ``seq`` for its current list of modules."""
    if not _fast.on():
        return ()
    key = tuple(seq.modules)
    cached = seq.__dict__.get("_buf_fused")
    if cached is not None and cached[0] == key:
        return cached[1]
    fused = set()
    for i, (m, nxt) in enumerate(zip(key, key[1:])):
        if i - 1 not in fused and m.fuses_with(nxt):
            fused.add(i)
    seq._buf_fused = (key, fused)
    return fused


class Container(Module):
    """Base of the containers (``Sequential`` and the tables of ``table.py``).

    The children are kept in ``modules`` (which :meth:`Module.children` and the
    traversal read); parameters, their ``penalized`` flags, ``get_parameters``
    views, modes, random generators, cached state and dtype casts go through the
    children in order.  Subclasses say how data flows through them.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = tuple(modules[0])
        self.modules = []
        for m in modules:
            self.add(m)

    def add(self, module):
        """Append ``module``; return self (so calls can be chained)."""
        if not isinstance(module, Module):
            raise ValueError(f"module must be an nn.Module, got {module!r}.")
        self.modules.append(module)
        return self

    def __len__(self):
        return len(self.modules)

    def __getitem__(self, i):
        return self.modules[i]

    def __iter__(self):
        return iter(self.modules)

    def parameters(self):
        params, grads = [], []
        for m in self.modules:
            p, g = m.parameters()
            params += p
            grads += g
        return params, grads

    def penalized(self):
        return [flag for m in self.modules for flag in m.penalized()]

    def reset_parameters(self, rng):
        for m in self.modules:
            m.reset_parameters(rng)

    def zero_grad_parameters(self, lazy=False):
        for m in self.modules:
            m.zero_grad_parameters(lazy)

    def _assign(self, params_it, grads_it):
        for m in self.modules:
            m._assign(params_it, grads_it)

    def train(self, mode=True):
        super().train(mode)
        for m in self.modules:
            m.train(mode)
        return self

    def set_rng(self, rng):
        for m in self.modules:
            m.set_rng(rng)
        return self

    def clear_state(self):
        super().clear_state()
        for m in self.modules:
            m.clear_state()
        return self

    def astype(self, dtype):
        for m in self.modules:
            m.astype(dtype)
        self.clear_state()
        return self


class Sequential(Container):
    """A chain of modules: the output of each is the input of the next.

    Parameters
    ----------
    *modules : Module
        The modules, in order.  More can be appended with :meth:`add`.

    Examples
    --------
    >>> from sknn_backprop import nn
    >>> model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid())
    >>> model.add(nn.Linear(4, 2))
    nn.Sequential {
      [input -> (1) -> (2) -> (3) -> output]
      (1): nn.Linear(3 -> 4)
      (2): nn.Sigmoid
      (3): nn.Linear(4 -> 2)
    }
    """

    def forward(self, x):
        fused = _fused_pairs(self)
        for i, m in enumerate(self.modules):
            if i in fused:  # fast path: m and the next module in one compiled pass
                x = m.fused_forward(self.modules[i + 1], x)
            elif i - 1 not in fused:
                x = m.forward(x)
        self.output = x
        return x

    def update_output(self, x):
        return self.forward(x)

    def backward(self, x, grad_output, scale=1.0, need_input_grad=True):
        """Back-propagate through the chain, last module first.

        Each module gets its own input back (the previous module's output).
        With ``need_input_grad=False`` the first module that has parameters
        only accumulates its parameter gradients and nothing below it runs:
        ``dL/dx`` of the data is not computed, which saves a third of the first
        layer's backward work when training.
        """
        mods = self.modules
        first = 0
        if not need_input_grad:  # modules before the first parameter need no delta
            first = next((i for i, m in enumerate(mods) if m.parameters()[0]), len(mods))
        fused = _fused_pairs(self)
        for i in range(len(mods) - 1, first - 1, -1):
            inp = mods[i - 1].output if i > 0 else x
            if i in fused:  # done with the module after it (fast path)
                continue
            if i - 1 in fused and i - 1 >= first:  # fast path: this module and the one before
                inp = mods[i - 2].output if i > 1 else x
                need = need_input_grad or i - 1 > first
                grad_output = mods[i - 1].fused_backward(mods[i], inp, grad_output, scale, need)
            elif i == first and not need_input_grad:
                mods[i].acc_grad_parameters(inp, grad_output, scale)
                grad_output = None
            else:
                grad_output = mods[i].backward(inp, grad_output, scale)
        self.grad_input = grad_output
        return grad_output

    def update_grad_input(self, x, grad_output):
        return self.backward(x, grad_output)

    def flattened(self):
        """The chain's modules in order, nested ``Sequential`` containers opened.

        Only chains are opened: any other container (a table) stays one module.
        """
        return [
            leaf
            for m in self.modules
            for leaf in (m.flattened() if isinstance(m, Sequential) else [m])
        ]

    def acc_grad_parameters(self, x, grad_output, scale=1.0):
        """The parameter gradients of every module, without ``dL/dx``.

        What an enclosing ``Sequential`` (or table container) calls when it needs
        no input gradient from this one: a nested chain still back-propagates
        through its own modules (``Module``'s default would be a no-op).
        """
        self.backward(x, grad_output, scale, need_input_grad=False)

    @property
    def returns_view(self):
        # a view of the input only if every module passes a view along (a module
        # that allocates breaks the chain): a nested Sequential of Flatten must
        # not let the next module overwrite the caller's array
        return all(m.returns_view for m in self.modules)

    def infer(self, x, owned=False):
        for m in self.modules:
            y = m.infer(x, owned=owned)
            owned = owned or (y is not x and not m.returns_view)
            x = y
        return x

    def __repr__(self):
        n = len(self.modules)
        chain = " -> ".join(["input"] + [f"({i})" for i in range(1, n + 1)] + ["output"])
        lines = ["nn.Sequential {", f"  [{chain}]"]
        for i, m in enumerate(self.modules, 1):
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({i}): {sub}")
        lines.append("}")
        return "\n".join(lines)

    def describe(self):
        """Torch7-style numbered listing of ``model.modules`` with tensor sizes."""
        lines = ["{"]
        for i, m in enumerate(self.modules, 1):
            lines.append(f"  {i} :")
            lines.extend("    " + line for line in m.describe().splitlines())
        lines.append("}")
        return "\n".join(lines)
