"""Torch7's table containers and slicers: branches, residuals and per-column inputs.

A *table* is a Python list of arrays (Torch7's Lua tables of tensors).  Four
containers build networks that are not a single chain:

- :class:`ConcatTable` gives the same input to every child; its output is the
  table of their outputs (branches, the two arms of a residual block);
- :class:`ParallelTable` applies its ``i``-th child to the ``i``-th element of a
  table (one sub-network per group of columns);
- :class:`JoinTable` concatenates a table along the feature axis (backward
  splits the gradient back into the pieces);
- :class:`CAddTable` sums a table (``y = sum_i x_i``; backward hands every
  input the same gradient), which closes a residual block.

and two slicers pick columns out of a ``(N, D)`` batch: :class:`Narrow` (a
contiguous block, as ``torch.narrow``) and :class:`Select` (one column, the axis
dropped, as ``torch.select``: the integer codes a :class:`LookupTable` reads).

A residual block ``y = x + f(x)`` and a network with one embedding per
categorical column, in the Torch7 idiom::

    block = nn.Sequential(nn.ConcatTable(f, nn.Identity()), nn.CAddTable())
    net = nn.Sequential(
        nn.ConcatTable(nn.Narrow(1, 0, 3), nn.Select(1, 3), nn.Select(1, 4)),
        nn.ParallelTable(nn.Identity(), nn.LookupTable(10, 4), nn.LookupTable(7, 2)),
        nn.JoinTable(1),               # (N, 3 + 4 + 2)
        nn.Linear(9, 16), nn.ReLU(),
    )

Containers keep their children in the list attribute ``modules`` (as
:class:`Sequential` does), so every traversal, parameter flattening
(``get_parameters``), mode switch and dtype cast reaches them.  Gradients with
respect to a table are tables; a container hands each child its own input back
on backward, exactly as Torch7's containers do.
"""

import numpy as np

from .module import Container, Module, Sequential, check_int

__all__ = [
    "Container",
    "ConcatTable",
    "ParallelTable",
    "JoinTable",
    "CAddTable",
    "Narrow",
    "Select",
]


def _add_into(acc, g):
    """``acc + g`` for arrays or (nested) tables, accumulated into ``acc`` (which we own)."""
    if isinstance(acc, list):
        for i, gi in enumerate(g):
            acc[i] = _add_into(acc[i], gi)
        return acc
    acc += g
    return acc


def _copy(g):
    """A copy of an array or (nested) table that we then own."""
    if isinstance(g, list):
        return [_copy(gi) for gi in g]
    return np.array(g, copy=True)


def _check_table(module, x, n=None):
    if not isinstance(x, (list, tuple)):
        raise ValueError(
            f"{type(module).__name__} expects a table (a list of arrays) as input, "
            f"got {type(x).__name__}."
        )
    if n is not None and len(x) != n:
        raise ValueError(
            f"{type(module).__name__} has {n} modules but its input table has {len(x)} elements."
        )


class TableContainer(Container):
    """Base of the table containers (:class:`Container` does the children's plumbing)."""

    #: elements of the output table may be the input itself (conservative for ``infer``)
    returns_view = True

    def update_output(self, x):
        return self.forward(x)

    def update_grad_input(self, x, grad_output):
        return self.backward(x, grad_output)

    def __repr__(self):
        # Torch7's layout for the branching containers
        lines = [f"nn.{type(self).__name__} {{", "  input"]
        for i, m in enumerate(self.modules, 1):
            sub = repr(m).replace("\n", "\n    |      ")
            lines.append(f"    |`-> ({i}): {sub}")
        lines += ["     ... -> output", "}"]
        return "\n".join(lines)

    def describe(self):
        """Torch7-style numbered listing of ``modules`` with tensor sizes."""
        return Sequential.describe(self)


class ConcatTable(TableContainer):
    """Apply every child to the same input; output the table of their outputs.

    ``output = [m_1(x), ..., m_k(x)]`` (Torch7's ``nn.ConcatTable``).  Backward
    sums the children's input gradients, ``dL/dx = sum_i dL/dx through m_i``
    (``x`` feeds every branch).  With :class:`CAddTable` after it and an
    :class:`~sknn_backprop.nn.Identity` branch it is a residual block; with
    slicers as children it splits a batch into groups of columns.

    The children share ``x``: a child that overwrites its input (an activation
    with ``inplace=True`` as the first module of a branch) would corrupt the
    other branches.  ``x`` may itself be a table.

    Parameters
    ----------
    *modules : Module
        The branches.  More can be appended with :meth:`add`.

    Attributes
    ----------
    modules : list of Module
        The branches, in order.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> branches = nn.ConcatTable(nn.Linear(3, 2), nn.Identity())
    >>> [y.shape for y in branches.forward(np.ones((5, 3)))]
    [(5, 2), (5, 3)]
    >>> branches
    nn.ConcatTable {
      input
        |`-> (1): nn.Linear(3 -> 2)
        |`-> (2): nn.Identity
         ... -> output
    }
    """

    def forward(self, x):
        self.output = [m.forward(x) for m in self.modules]
        return self.output

    def infer(self, x, owned=False):
        # every branch reads x: none may overwrite it
        return [m.infer(x) for m in self.modules]

    def backward(self, x, grad_output, scale=1.0):
        _check_table(self, grad_output, len(self.modules))
        grad = None
        for m, g in zip(self.modules, grad_output):
            gi = m.backward(x, g, scale)
            if grad is None:  # copied: it may be that branch's own buffer (or x itself)
                buf = self.grad_input
                if (
                    isinstance(gi, np.ndarray)
                    and isinstance(buf, np.ndarray)
                    and (buf.shape == gi.shape and buf.dtype == gi.dtype and buf is not gi)
                ):
                    np.copyto(buf, gi)
                    grad = buf
                else:
                    grad = _copy(gi)
            else:
                grad = _add_into(grad, gi)
        self.grad_input = grad
        return grad

    def acc_grad_parameters(self, x, grad_output, scale=1.0):
        _check_table(self, grad_output, len(self.modules))
        for m, g in zip(self.modules, grad_output):
            m.acc_grad_parameters(x, g, scale)


class ParallelTable(TableContainer):
    """Apply the ``i``-th child to the ``i``-th element of a table.

    ``output = [m_1(x_1), ..., m_k(x_k)]`` (Torch7's ``nn.ParallelTable``), and
    backward returns the table ``[dL/dx_1, ..., dL/dx_k]``.  With a
    :class:`ConcatTable` of slicers before it and a :class:`JoinTable` after it,
    it gives each group of columns its own sub-network (an embedding per
    categorical column, say).

    Parameters
    ----------
    *modules : Module
        One module per element of the input table.

    Attributes
    ----------
    modules : list of Module
        The modules, in order.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> par = nn.ParallelTable(nn.Linear(3, 2), nn.Tanh())
    >>> [y.shape for y in par.forward([np.ones((5, 3)), np.zeros((5, 4))])]
    [(5, 2), (5, 4)]
    """

    def forward(self, x):
        _check_table(self, x, len(self.modules))
        self.output = [m.forward(xi) for m, xi in zip(self.modules, x)]
        return self.output

    def infer(self, x, owned=False):
        _check_table(self, x, len(self.modules))
        # an element of the table may be the caller's array (a slice, an Identity branch)
        return [m.infer(xi) for m, xi in zip(self.modules, x)]

    def backward(self, x, grad_output, scale=1.0):
        _check_table(self, x, len(self.modules))
        _check_table(self, grad_output, len(self.modules))
        self.grad_input = [
            m.backward(xi, g, scale) for m, xi, g in zip(self.modules, x, grad_output)
        ]
        return self.grad_input

    def acc_grad_parameters(self, x, grad_output, scale=1.0):
        _check_table(self, x, len(self.modules))
        for m, xi, g in zip(self.modules, x, grad_output):
            m.acc_grad_parameters(xi, g, scale)


class JoinTable(Module):
    """Concatenate a table of arrays along axis ``dim``; backward splits the gradient.

    ``output = [x_1 | x_2 | ... | x_k]`` (Torch7's ``nn.JoinTable``,
    ``torch.cat(xs, dim)``), and ``dL/dx_i`` is the block of ``dL/d output``
    that ``x_i`` filled (a view, no copy).  ``dim`` counts from 0 with the
    batch on axis 0, as in PyTorch, so ``JoinTable(1)`` joins features; there a
    1-D element ``(N,)`` (a :class:`Select`'s column) joins as one column, as
    Torch7's ``JoinTable(2, 1)``.

    Parameters
    ----------
    dim : int, default=1
        Axis to concatenate along, ``>= 1`` (the batch axis is never joined).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> nn.JoinTable().forward([np.ones((2, 1)), np.zeros((2, 2))])
    array([[1., 0., 0.],
           [1., 0., 0.]])
    """

    def __init__(self, dim=1):
        super().__init__()
        self.dim = check_int("dim", dim, 1)

    def extra_repr(self):
        return str(self.dim)

    def _columns(self, x):
        """The table with 1-D elements (a :class:`Select`'s column) as ``(N, 1)`` columns."""
        if self.dim != 1:
            return x
        return [xi[:, None] if np.ndim(xi) == 1 else xi for xi in x]

    def _join(self, x, out):
        _check_table(self, x)
        if not x:
            raise ValueError("JoinTable needs at least one array to join.")
        x = self._columns(x)
        dtype = np.result_type(*x)
        shape = list(x[0].shape)
        shape[self.dim] = sum(xi.shape[self.dim] for xi in x)
        if out is None or out.shape != tuple(shape) or out.dtype != dtype:
            out = np.empty(shape, dtype=dtype)
        return np.concatenate(x, axis=self.dim, out=out)

    def forward(self, x):
        # the output buffer is reused from batch to batch (as Linear's is)
        self.output = self._join(x, self.output)
        return self.output

    def update_output(self, x):
        return self._join(x, None)

    def update_grad_input(self, x, grad_output):
        _check_table(self, x)
        grads, start = [], 0
        index = [slice(None)] * grad_output.ndim
        for xi, col in zip(x, self._columns(x)):
            stop = start + col.shape[self.dim]
            index[self.dim] = slice(start, stop)
            block = grad_output[tuple(index)]
            grads.append(block.reshape(np.shape(xi)))  # a view; (N,) for a 1-D element
            start = stop
        return grads


class CAddTable(Module):
    """Sum a table of arrays of one shape: ``output = sum_i x_i`` (Torch7's ``nn.CAddTable``).

    Every input gets the output's gradient, ``dL/dx_i = dL/d output``.  The
    second and later elements get copies (a branch running in place may
    overwrite the gradient it receives).  After a :class:`ConcatTable` with an
    :class:`~sknn_backprop.nn.Identity` branch it closes a residual block
    ``y = x + f(x)`` (He et al., 2016).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> nn.CAddTable().forward([np.ones((1, 2)), np.full((1, 2), 2.0)])
    array([[3., 3.]])
    """

    def _sum(self, x, out):
        _check_table(self, x)
        if not x:
            raise ValueError("CAddTable needs at least one array to add.")
        dtype = np.result_type(*x)
        if (
            out is None
            or out.shape != x[0].shape
            or out.dtype != dtype
            or any(out is xi for xi in x)
        ):
            out = np.empty(x[0].shape, dtype=dtype)
        out[...] = x[0]
        for xi in x[1:]:
            out += xi
        return out

    def forward(self, x):
        self.output = self._sum(x, self.output)
        return self.output

    def update_output(self, x):
        return self._sum(x, None)

    def update_grad_input(self, x, grad_output):
        _check_table(self, x)
        old = self.grad_input if isinstance(self.grad_input, list) else []
        grads = [grad_output]
        for i in range(1, len(x)):
            buf = old[i] if i < len(old) else None
            if (
                buf is None
                or buf is grad_output
                or buf.shape != grad_output.shape
                or (buf.dtype != grad_output.dtype)
            ):
                buf = np.empty_like(grad_output)
            np.copyto(buf, grad_output)
            grads.append(buf)
        return grads


class _Slice(Module):
    """Shared backward of :class:`Narrow` and :class:`Select`: the gradient lands in the
    sliced part of a zero array shaped like the input (``self._index(x)``)."""

    def update_grad_input(self, x, grad_output):
        buf = self.grad_input
        if (
            not isinstance(buf, np.ndarray)
            or buf.shape != x.shape
            or (buf.dtype != grad_output.dtype)
        ):
            buf = np.empty(x.shape, dtype=grad_output.dtype)
        buf.fill(0)
        buf[self._index(x)] = grad_output
        return buf


class Narrow(_Slice):
    """Columns ``offset .. offset + length - 1`` of axis ``dim`` (``torch.narrow``).

    Torch7's ``nn.Narrow`` with PyTorch's 0-based axes: ``Narrow(1, 2, 3)`` keeps
    features 2, 3 and 4 of a ``(N, D)`` batch.  Forward returns a view (a dense
    copy of the block for a scipy sparse batch); backward scatters the gradient into
    zeros shaped like the input.

    Parameters
    ----------
    dim : int
        Axis to narrow, ``>= 1`` (axis 0 is the batch).
    offset : int
        First index kept, ``>= 0``.
    length : int
        Number of indices kept, ``>= 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> nn.Narrow(1, 1, 2).forward(np.arange(8.0).reshape(2, 4))
    array([[1., 2.],
           [5., 6.]])
    """

    returns_view = True

    def __init__(self, dim, offset, length):
        super().__init__()
        self.dim = check_int("dim", dim, 1)
        self.offset = check_int("offset", offset, 0)
        self.length = check_int("length", length, 1)

    def extra_repr(self):
        return f"{self.dim}, {self.offset}, {self.length}"

    def _index(self, x):
        if len(x.shape) <= self.dim or self.offset + self.length > x.shape[self.dim]:
            raise ValueError(
                f"{self!r}: axis {self.dim} of an input of shape {x.shape} has no indices "
                f"{self.offset} .. {self.offset + self.length - 1}."
            )
        index = [slice(None)] * len(x.shape)
        index[self.dim] = slice(self.offset, self.offset + self.length)
        return tuple(index)

    def update_output(self, x):
        if not isinstance(x, np.ndarray):  # scipy sparse: the block of columns, dense
            return np.asarray(x[self._index(x)].toarray())
        return x[self._index(x)]



class Select(_Slice):
    """Index ``index`` of axis ``dim``, the axis dropped (``torch.select``).

    Torch7's ``nn.Select`` with PyTorch's 0-based axes: ``Select(1, 3)`` turns a
    ``(N, D)`` batch into its column 3, shape ``(N,)`` -- the integer codes of a
    categorical column that a :class:`~sknn_backprop.nn.LookupTable` reads.
    A scipy sparse batch gives the dense column.  Backward scatters the gradient
    into zeros shaped like the input.

    Parameters
    ----------
    dim : int
        Axis to index, ``>= 1`` (axis 0 is the batch).
    index : int
        The index kept, ``>= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_backprop import nn
    >>> nn.Select(1, 2).forward(np.arange(8.0).reshape(2, 4))
    array([2., 6.])
    """

    returns_view = True

    def __init__(self, dim, index):
        super().__init__()
        self.dim = check_int("dim", dim, 1)
        self.index = check_int("index", index, 0)

    def extra_repr(self):
        return f"{self.dim}, {self.index}"

    def _index(self, x):
        if len(x.shape) <= self.dim or self.index >= x.shape[self.dim]:
            raise ValueError(
                f"{self!r}: axis {self.dim} of an input of shape {x.shape} has no index "
                f"{self.index}."
            )
        index = [slice(None)] * len(x.shape)
        index[self.dim] = self.index
        return tuple(index)

    def update_output(self, x):
        if not isinstance(x, np.ndarray):  # scipy sparse: the column, dense
            return np.asarray(x[:, [self.index]].toarray()).ravel()
        return x[self._index(x)]

