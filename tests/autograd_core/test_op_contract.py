"""One op, one place: every op class carries its formula, has a functional form and is
in the gradient tests' op table; one class is all a new op needs."""

import importlib
import inspect
import pkgutil
from pathlib import Path

import numpy as np
import pytest

import autograd_core as ag
import autograd_core.ops as ops_package
from autograd_core.autograd import topological_order
from autograd_core.function import Function
from autograd_core.ops import _registry
from autograd_core.ops._formula import Template
from tests.autograd_core.op_table import BINARY, GRAPH_OPS, REDUCTIONS, UNARY, sample

# Ops reached through syntax rather than a named function.
REACHED_BY_SYNTAX = {"GetItem": "t[index]", "SetItem": "t[index] = value", "Cast": "t.to(dtype)"}


def _op_classes():
    found = {}
    for info in pkgutil.iter_modules(ops_package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"autograd_core.ops.{info.name}")
        for name, cls in vars(module).items():
            if inspect.isclass(cls) and issubclass(cls, Function) and cls is not Function \
                    and cls.__module__ == module.__name__ and not name.startswith("_"):
                found[name] = cls
    return found


OP_CLASSES = _op_classes()


def _classes_reached_by_functional_forms():
    """Op classes applied by a registered form, or by nn's functional forms and layers."""
    import re

    import nn

    reached = {cls for classes in _registry.OPS.values() for cls in classes}
    sources = "\n".join(path.read_text() for path in Path(nn.__file__).parent.rglob("*.py"))
    reached |= {cls for name, cls in OP_CLASSES.items()
                if re.search(rf"\b_?{name}\.apply\(", sources)}
    return reached


def _classes_in_the_gradient_table():
    rng = np.random.default_rng(0)
    reached = set()
    outputs = []
    for op in UNARY + BINARY:
        outputs.append(op.ours(*(ag.Tensor(sample(rng, (2, 3), op.domain), requires_grad=True)
                                 for _ in range(op.arity))))
    for op in REDUCTIONS:
        outputs.append(op.ours(ag.Tensor(sample(rng, (2, 3), op.domain), requires_grad=True),
                               1, False))
    for op in GRAPH_OPS:
        fn, inputs = op.build(rng)
        result = fn(*inputs)
        outputs.extend(result if isinstance(result, tuple) else (result,))
    for out in outputs:
        reached |= {node.fn for node in topological_order(out)}
    return reached


def test_every_op_class_carries_its_teaching_formula():
    missing = [name for name, cls in OP_CLASSES.items() if vars(cls).get("formula") is None
               and name != "SetItem"]
    assert missing == [], f"op classes without a formula: {missing}"


def test_every_op_class_has_a_functional_form():
    reached = _classes_reached_by_functional_forms()
    missing = [name for name, cls in OP_CLASSES.items()
               if cls not in reached and name not in REACHED_BY_SYNTAX]
    assert missing == [], f"op classes no functional form applies: {missing}"


def test_every_op_class_is_in_the_gradient_table():
    reached = _classes_in_the_gradient_table()
    missing = [name for name, cls in OP_CLASSES.items() if cls not in reached]
    assert missing == [], f"op classes no entry of tests/autograd_core/op_table.py reaches: "\
                          f"{missing}"


@pytest.mark.parametrize("op", GRAPH_OPS, ids=lambda o: o.name)
def test_graph_op_table_gradchecks(op):
    fn, inputs = op.build(np.random.default_rng(11))
    assert ag.gradcheck(fn, inputs)


def test_every_registered_form_is_a_function_a_method_and_a_numpy_target():
    for name, fn in _registry.FUNCTIONS.items():
        assert getattr(ag, name) is fn, name
    for name in _registry.METHODS:
        assert callable(getattr(ag.Tensor, name)), name
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    for np_fn in (np.exp, np.sum, np.concatenate, np.matmul):
        args = ([x, x],) if np_fn is np.concatenate else (x, x) if np_fn is np.matmul else (x,)
        assert isinstance(np_fn(*args), ag.Tensor), np_fn


def test_a_new_op_is_one_class_and_one_registration():
    class Cube(Function):
        """y = a^3;  dy/da = 3 a^2."""

        float_only = True
        promotes = (0,)
        formula = Template("³", "np.power({0}, 3)", ["{g} * 3 * np.power({0}, 2)"], ["3{0}²"])

        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return np.power(a, 3)

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return grad * 3 * np.power(a, 2)

    @_registry.public(numpy=(np.cbrt,), ops=(Cube,))  # any unused ufunc, for the test
    def cube_example(input):
        return Cube.apply(input)

    try:
        x = ag.tensor([1.0, 2.0], requires_grad=True)
        for y in (ag.cube_example(x), x.cube_example(), np.cbrt(x)):
            assert y.tolist() == [1.0, 8.0] and y.grad_fn.name() == "CubeBackward0"
        ag.cube_example(x).sum().backward()
        assert x.grad.tolist() == [3.0, 12.0]
        from autograd_core.viz import flat_code

        assert "np.power(" in flat_code(ag.cube_example(x).sum())
        assert ag.cube_example(ag.tensor([2])).dtype == np.float32  # float_only
    finally:
        del _registry.FUNCTIONS["cube_example"], _registry.METHODS["cube_example"]
        del _registry.NUMPY[np.cbrt], _registry.OPS["cube_example"]
        delattr(ag.Tensor, "cube_example")
