"""Torch7's table containers (``ConcatTable``, ``ParallelTable``, ``JoinTable``,
``CAddTable``) and the slicers ``Narrow`` / ``Select``: gradients, the container
contract (parameters, flat views, modes, dtypes, ``infer``, pickling, printing) and
the two networks they exist for, a residual block and per-column embeddings."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sknn_backprop import nn

TOL = 1e-6


def _check(module, x, target, **kw):
    errors = nn.gradient_check(module, nn.MSECriterion(), x, target, **kw)
    n_params = len(module.parameters()[0])
    assert {f"param{i}" for i in range(n_params)} <= set(errors)
    assert max(errors.values()) < TOL, errors
    return errors


def _residual(d, rng, inplace=False):
    """``y = x + W2 tanh(W1 x)``, Torch7-style."""
    branch = nn.Sequential(nn.Linear(d, 5, rng=rng), nn.Tanh(), nn.Linear(5, d, rng=rng))
    if inplace:  # the ReLU overwrites the gradient it gets: the CAddTable's
        branch = nn.Sequential(nn.Linear(d, d, rng=rng), nn.ReLU(inplace=True))
    return nn.Sequential(nn.ConcatTable(branch, nn.Identity()), nn.CAddTable())


def _per_column(rng):
    """Columns 0-2 numeric, column 3 a code in [0, 4), column 4 a code in [0, 3)."""
    return nn.Sequential(
        nn.ConcatTable(nn.Narrow(1, 0, 3), nn.Select(1, 3), nn.Select(1, 4)),
        nn.ParallelTable(
            nn.Linear(3, 3, rng=rng), nn.LookupTable(4, 2, rng=rng), nn.LookupTable(3, 2, rng=rng)
        ),
        nn.JoinTable(1),
        nn.Linear(7, 4, rng=rng),
        nn.Tanh(),
        nn.Linear(4, 2, rng=rng),
    )


def _tabular_x(rng, n=6):
    return np.column_stack([rng.normal(size=(n, 3)), rng.integers(0, 4, n), rng.integers(0, 3, n)])


# -- gradients ------------------------------------------------------------------------------------
def test_residual_block_gradient_check(rng):
    block = _residual(3, rng)
    _check(block, rng.normal(size=(4, 3)), rng.normal(size=(4, 3)))


def test_concat_table_gradient_check(rng):
    # the branches' input gradients add up; the output table is joined for the criterion
    model = nn.Sequential(
        nn.ConcatTable(nn.Linear(3, 2, rng=rng), nn.Sigmoid(), nn.Linear(3, 1, rng=rng)),
        nn.JoinTable(1),
    )
    _check(model, rng.normal(size=(5, 3)), rng.normal(size=(5, 6)))


def test_parallel_table_gradient_check_table_input(rng):
    model = nn.Sequential(
        nn.ParallelTable(nn.Linear(3, 2, rng=rng), nn.Tanh(), nn.Identity()), nn.JoinTable()
    )
    x = [rng.normal(size=(4, 3)), rng.normal(size=(4, 2)), rng.normal(size=(4, 1))]
    errors = _check(model, x, rng.normal(size=(4, 5)))
    assert {"input0", "input1", "input2"} <= set(errors)


def test_join_and_cadd_tables_gradient_check(rng):
    x = [rng.normal(size=(3, 2)), rng.normal(size=(3, 4))]
    _check(nn.JoinTable(1), x, rng.normal(size=(3, 6)))
    x = [rng.normal(size=(3, 2)) for _ in range(3)]
    _check(nn.CAddTable(), x, rng.normal(size=(3, 2)))


def test_join_table_takes_1d_columns(rng):
    x = [rng.normal(size=(4, 2)), rng.normal(size=4)]
    y = nn.JoinTable(1).forward(x)
    assert_array_equal(y, np.column_stack(x))
    errors = _check(nn.JoinTable(1), x, rng.normal(size=(4, 3)))
    assert set(errors) == {"input0", "input1"}
    grads = nn.JoinTable(1).backward(x, np.ones((4, 3)))
    assert [g.shape for g in grads] == [(4, 2), (4,)]


def test_join_table_other_axis(rng):
    x = [rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 3, 1))]
    y = nn.JoinTable(2).forward(x)
    assert_array_equal(y, np.concatenate(x, axis=2))
    _check(nn.JoinTable(2), x, rng.normal(size=(2, 3, 3)))


def test_concat_table_of_table_input(rng):
    # a ConcatTable on a table: its input gradient is a table, summed elementwise
    model = nn.Sequential(nn.ConcatTable(nn.JoinTable(1), nn.CAddTable()), nn.JoinTable(1))
    x = [rng.normal(size=(3, 2)), rng.normal(size=(3, 2))]
    _check(model, x, rng.normal(size=(3, 6)))


@pytest.mark.parametrize("module, out_shape", [(nn.Narrow(1, 1, 2), (4, 2)),
                                               (nn.Select(1, 2), (4,))])  # fmt: skip
def test_slicers_gradient_check(module, out_shape, rng):
    x = rng.normal(size=(4, 3))
    assert module.forward(x).shape == out_shape
    assert np.shares_memory(module.output, x)  # a view, no copy
    _check(module, x, rng.normal(size=out_shape))


def test_slicers_values_and_errors():
    x = np.arange(12.0).reshape(3, 4)
    assert_array_equal(nn.Narrow(1, 1, 2).forward(x), x[:, 1:3])
    assert_array_equal(nn.Select(1, 3).forward(x), x[:, 3])
    g = nn.Select(1, 3).backward(x, np.ones(3))
    assert_array_equal(g, np.array([[0, 0, 0, 1.0]] * 3))
    with pytest.raises(ValueError, match="has no indices"):
        nn.Narrow(1, 3, 2).forward(x)
    with pytest.raises(ValueError, match="has no index"):
        nn.Select(1, 4).forward(x)
    with pytest.raises(ValueError, match="dim must be"):
        nn.Narrow(0, 0, 1)


def test_slicers_take_sparse_batches(rng):
    import scipy.sparse as sp

    x = rng.normal(size=(5, 4)) * (rng.random((5, 4)) < 0.5)
    xs = sp.csr_matrix(x)
    model = _per_column(rng)
    codes = np.column_stack([x[:, :3], rng.integers(0, 4, 5), rng.integers(0, 3, 5)])
    assert_allclose(model.forward(sp.csr_matrix(codes)), model.forward(codes))
    assert_allclose(model.infer(sp.csr_matrix(codes)), model.forward(codes))
    for m, expected in [(nn.Narrow(1, 1, 2), x[:, 1:3]), (nn.Select(1, 2), x[:, 2])]:
        out = m.forward(xs)
        assert isinstance(out, np.ndarray)
        assert_array_equal(out, expected)
        assert m.backward(xs, np.ones_like(out)).shape == x.shape


def test_per_column_network_gradient_check(rng):
    model = _per_column(rng)
    # the codes cannot be perturbed: the parameters are checked, the input separately
    _check(model, _tabular_x(rng), rng.normal(size=(6, 2)), check_input=False)


def test_per_column_network_input_gradient_of_numeric_columns(rng):
    model = _per_column(rng)
    x = _tabular_x(rng)
    out = model.forward(x)
    g = model.backward(x, np.ones_like(out))
    assert g.shape == x.shape
    assert_array_equal(g[:, 3:], 0)  # the codes get no gradient
    eps, x2 = 1e-6, x.copy()
    x2[0, 1] += eps
    numeric = (model.forward(x2).sum() - model.forward(x).sum()) / eps
    assert_allclose(g[0, 1], numeric, rtol=1e-4)


def test_in_place_branch_does_not_corrupt_the_other(rng):
    # CAddTable hands each branch its own gradient array: an in-place ReLU in one
    # branch (which overwrites the gradient it gets) must not change the other's
    block = _residual(3, rng, inplace=True)
    x = rng.normal(size=(5, 3))
    _check(block, x, rng.normal(size=(5, 3)))


# -- the container contract -----------------------------------------------------------------------
def test_parameters_penalized_and_modules_attribute(rng):
    model = _per_column(rng)
    concat, par = model[0], model[1]
    assert concat.modules[1] is model[0][1] and len(par) == 3 and list(par) == par.modules
    assert concat.parameters() == ([], [])
    assert par.penalized() == [True, False, True, True]  # Linear W, b; two embedding tables
    assert model.penalized() == [True, False, True, True, True, False, True, False]
    params, grads = model.parameters()
    assert params[2] is par[1].weight and grads[3] is par[2].grad_weight


def test_get_parameters_and_optimizer_step(rng):
    # the training core's path: one flat vector that every module's arrays view
    for model, x, y in [
        (_per_column(rng), _tabular_x(rng, 8), rng.normal(size=(8, 2))),
        (nn.Sequential(_residual(3, rng), nn.Linear(3, 2, rng=rng)),
         rng.normal(size=(8, 3)), rng.normal(size=(8, 2))),
    ]:  # fmt: skip
        flat_p, flat_g = model.get_parameters(penalized_first=True)
        params, grads = model.parameters()
        assert all(p.base is flat_p for p in params) and all(g.base is flat_g for g in grads)
        n_weights = sum(p.size for p, pen in zip(params, model.penalized()) if pen)
        biases = [p for p, pen in zip(params, model.penalized()) if not pen]
        assert all(np.shares_memory(b, flat_p[n_weights:]) for b in biases)
        crit = nn.MSECriterion()
        opt = nn.Adam([flat_p], learning_rate_init=0.01)
        loss0 = crit.forward(model.forward(x), y)
        for _ in range(30):
            model.zero_grad_parameters(lazy=True)
            loss, grad = crit.forward_backward(model.forward(x), y)
            model.backward(x, grad, need_input_grad=False)
            opt.step([flat_p], [flat_g])
        assert crit.forward(model.forward(x), y) < 0.7 * loss0


def test_need_input_grad_false_gives_the_same_parameter_gradients(rng):
    model = _per_column(rng)
    x, y = _tabular_x(rng), rng.normal(size=(6, 2))
    crit = nn.MSECriterion()
    model.zero_grad_parameters()
    model.backward(x, crit.backward(model.forward(x), y))
    full = [g.copy() for g in model.parameters()[1]]
    model.zero_grad_parameters(lazy=True)
    model.backward(x, crit.backward(model.forward(x), y), need_input_grad=False)
    for a, b in zip(full, model.parameters()[1]):
        assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("where", ["nested Sequential", "residual first", "in a ConcatTable"])
def test_need_input_grad_false_reaches_nested_chains(where, rng):
    # a Sequential as the first module with parameters of an enclosing one used to get
    # Module's no-op acc_grad_parameters: its parameters then had no gradient at all
    inner = nn.Sequential(nn.Linear(3, 3, rng=rng), nn.Tanh())
    if where == "nested Sequential":
        model = nn.Sequential(inner, nn.Linear(3, 2, rng=rng))
    elif where == "residual first":
        model = nn.Sequential(_residual(3, rng), nn.Linear(3, 2, rng=rng))
    else:
        model = nn.Sequential(nn.ConcatTable(inner, nn.Identity()), nn.JoinTable(),
                              nn.Linear(6, 2, rng=rng))  # fmt: skip
    x, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    model.zero_grad_parameters()
    model.forward(x)
    model.backward(x, g)
    full = [a.copy() for a in model.parameters()[1]]
    model.zero_grad_parameters(lazy=True)
    model.forward(x)
    model.backward(x, g, need_input_grad=False)
    for a, b in zip(full, model.parameters()[1]):
        assert_allclose(b, a, rtol=1e-12, atol=1e-15)
    assert all(np.abs(a).sum() > 0 for a in full)


def test_backward_scale_accumulates(rng):
    model = _residual(3, rng)
    x, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    model.zero_grad_parameters()
    model.forward(x)
    model.backward(x, g)
    once = [a.copy() for a in model.parameters()[1]]
    model.backward(x, g, scale=0.5)
    for a, b in zip(once, model.parameters()[1]):
        assert_allclose(b, 1.5 * a)


def test_reset_parameters_reaches_children(rng):
    model = _per_column(rng)
    before = [p.copy() for p in model.parameters()[0]]
    model.reset_parameters(np.random.default_rng(1))
    after = model.parameters()[0]
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))


def test_modes_rng_and_infer(rng):
    drop = nn.Dropout(0.5)
    model = nn.Sequential(
        nn.ConcatTable(nn.Sequential(nn.Linear(3, 3, rng=rng), drop), nn.Identity()),
        nn.CAddTable(),
    )
    model.eval()
    assert not drop.training and not model[0].training
    gen = np.random.default_rng(5)
    model.set_rng(gen)
    assert drop.rng is gen
    x = rng.normal(size=(4, 3))
    expected = model.forward(x).copy()
    model.clear_state()
    assert model[0].output is None and drop.output is None and model[1].output is None
    y = model.train().infer(x)  # infer is eval-mode and writes nothing
    assert_allclose(y, expected)
    assert model[0].output is None and model[1].output is None
    assert not np.shares_memory(y, x)


def test_infer_never_overwrites_the_input(rng):
    # an Identity branch hands the caller's array on; an in-place activation after the
    # join may only overwrite the join's own output
    model = nn.Sequential(
        nn.ConcatTable(nn.Identity(), nn.Narrow(1, 0, 2)), nn.JoinTable(), nn.ReLU(inplace=True)
    )
    x = rng.normal(size=(4, 3))
    x0 = x.copy()
    model.infer(x)
    assert_array_equal(x, x0)
    model2 = nn.Sequential(nn.ConcatTable(nn.Identity(), nn.Identity()),
                           nn.ParallelTable(nn.ReLU(), nn.Tanh()), nn.CAddTable())  # fmt: skip
    model2.infer(x, owned=False)
    assert_array_equal(x, x0)


def test_float32_in_float32_out(rng):
    model = _per_column(rng).astype(np.float32)
    assert all(p.dtype == np.float32 for p in model.parameters()[0])
    x = _tabular_x(rng).astype(np.float32)
    out = model.forward(x)
    assert out.dtype == np.float32
    assert model.backward(x, np.ones_like(out)).dtype == np.float32
    assert model.infer(x).dtype == np.float32
    block = _residual(3, rng).astype(np.float32)
    xr = rng.normal(size=(4, 3)).astype(np.float32)
    assert block.forward(xr).dtype == np.float32
    assert block.backward(xr, np.ones_like(xr)).dtype == np.float32


def test_pickle_round_trip(rng):
    model = _per_column(rng)
    x = _tabular_x(rng)
    y = model.forward(x).copy()
    clone = pickle.loads(pickle.dumps(model))
    assert_allclose(clone.forward(x), y)
    assert clone[0].output is not None and clone[1][1].grad_weight.shape == (4, 2)


def test_repr_is_torch7_like(rng):
    block = _residual(2, rng)
    assert repr(block) == (
        "nn.Sequential {\n"
        "  [input -> (1) -> (2) -> output]\n"
        "  (1): nn.ConcatTable {\n"
        "    input\n"
        "      |`-> (1): nn.Sequential {\n"
        "      |        [input -> (1) -> (2) -> (3) -> output]\n"
        "      |        (1): nn.Linear(2 -> 5)\n"
        "      |        (2): nn.Tanh\n"
        "      |        (3): nn.Linear(5 -> 2)\n"
        "      |      }\n"
        "      |`-> (2): nn.Identity\n"
        "       ... -> output\n"
        "  }\n"
        "  (2): nn.CAddTable\n"
        "}"
    )
    assert repr(nn.ParallelTable(nn.Tanh())).startswith("nn.ParallelTable {\n  input\n")
    assert repr(nn.JoinTable(1)) == "nn.JoinTable(1)"
    assert repr(nn.Narrow(1, 0, 3)) == "nn.Narrow(1, 0, 3)"
    assert repr(nn.Select(1, 2)) == "nn.Select(1, 2)"
    assert "nn.Linear(2 -> 5)" in block[0].describe()


def test_table_errors(rng):
    par = nn.ParallelTable(nn.Identity(), nn.Identity())
    with pytest.raises(ValueError, match="has 2 modules but its input table has 1"):
        par.forward([np.ones((2, 2))])
    with pytest.raises(ValueError, match="expects a table"):
        par.forward(np.ones((2, 2)))
    with pytest.raises(ValueError, match="expects a table"):
        nn.JoinTable().forward(np.ones((2, 2)))
    with pytest.raises(ValueError, match="nn.Module"):
        nn.ConcatTable(nn.Identity(), "relu")


def test_buffers_are_reused_across_batches(rng):
    join, add = nn.JoinTable(), nn.CAddTable()
    x = [rng.normal(size=(4, 2)), rng.normal(size=(4, 3))]
    out = join.forward(x)
    assert join.forward(x) is out
    s = add.forward(x[:1] * 2)
    assert add.forward(x[:1] * 2) is s
    assert_allclose(s, 2 * x[0])
