"""Module system: registration, traversal order, modes, grads, apply, dtype, hooks, repr."""

import copy

import numpy as np
import pytest

import nn
from autograd_core import Tensor, manual_seed, randn
from autograd_core.errors import DTypeError


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Linear(3, 4)
        self.scale = nn.Parameter(np.ones(4, dtype=np.float32))
        self.register_buffer("steps", Tensor(np.zeros((), dtype=np.int64)))

    def forward(self, x):
        return self.conv(x) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = Block()
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(4, 2))
        self.temperature = nn.Parameter([1.0])

    def forward(self, x):
        return self.head(self.first(x)) / self.temperature


def test_parameters_in_registration_order_with_dotted_names():
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    # PyTorch's order: a module's own parameters, then each child's, depth first
    assert names == [
        "temperature", "first.scale", "first.conv.weight", "first.conv.bias",
        "head.1.weight", "head.1.bias",
    ]
    assert len(list(net.parameters())) == 6
    assert [n for n, _ in net.named_buffers()] == ["first.steps"]
    assert [n for n, _ in net.named_children()] == ["first", "head"]
    assert [n for n, _ in net.named_modules()] == [
        "", "first", "first.conv", "head", "head.0", "head.1"
    ]
    assert len(list(net.modules())) == 6
    assert list(net.parameters(recurse=False)) == [net.temperature]


def test_walking_a_module_never_renames_its_tensors():
    net = Net()
    custom = nn.Parameter([1.0], name="W")
    net.head.add_module("extra", nn.Module())
    net.head.extra.w = custom
    outer = nn.Module()
    outer.inner = net
    before = {id(t): t.name for t in list(outer.parameters()) + list(outer.buffers())}
    for walk in (outer.named_parameters, outer.parameters, outer.named_buffers,
                 outer.state_dict, net.named_parameters, lambda: net.head.named_parameters("x")):
        list(walk())
    after = {id(t): t.name for t in list(outer.parameters()) + list(outer.buffers())}
    assert after == before
    assert custom.name == "W" and net.first.conv.weight.name is None


def test_drawings_name_parameters_from_the_module_even_when_added_late():
    from autograd_core import viz

    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList()
            for _ in range(2):
                self.layers.append(nn.Linear(2, 2))

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    model = Stack()
    names = [n for n, _ in model.named_parameters()]
    assert names[0] == "layers.0.weight"
    loss = model(Tensor(np.ones((1, 2), np.float32))).sum()
    source = viz.draw_graph(loss, params=model).source
    assert "layers.0.weight" in source and "layers.1.bias" in source
    assert "layers_1_weight" in viz.flat_code(loss, params=model)


def test_shared_parameters_are_listed_once():
    a = nn.Linear(2, 2)
    model = nn.Sequential(a, nn.ReLU(), a)
    assert len(list(model.parameters())) == 2
    # ... but the state dict lists every path, as PyTorch's
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_assignment_rules():
    m = nn.Linear(2, 3)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        m.weight = Tensor(np.zeros((3, 2), dtype=np.float32))
    m.bias = None
    assert m.bias is None and "bias" not in dict(m.named_parameters())
    m.extra = Tensor([1.0])  # a plain tensor attribute is not registered
    assert "extra" not in dict(m.named_parameters())

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter([1.0])

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()

    with pytest.raises(KeyError, match="empty or contain"):
        nn.Module().register_buffer("a.b", Tensor([1.0]))
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = nn.Linear(1, 1).nope

    m = nn.Module()
    m.child = nn.Linear(1, 1)
    del m.child
    assert list(m.children()) == []


def test_forward_missing_is_a_clear_error():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)


def test_train_eval_propagate_and_return_self():
    net = Net()
    assert net.training and net.head[0].training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net
    assert all(m.training for m in net.modules())
    net.head.train(False)
    assert net.training and not net.head[1].training
    with pytest.raises(ValueError, match="bool"):
        net.train("yes")


def test_train_calls_each_childs_own_train():
    class FrozenNorm(nn.Module):
        """Keeps its BatchNorm in eval mode, the usual fine-tuning override."""

        def __init__(self):
            super().__init__()
            self.norm = nn.BatchNorm1d(3)
            self.calls = []

        def train(self, mode=True):
            self.calls.append(mode)
            super().train(mode)
            self.norm.eval()
            return self

    frozen = FrozenNorm()
    model = nn.Sequential(nn.Linear(3, 3), nn.Sequential(frozen))
    frozen.calls.clear()
    model.train()
    assert frozen.calls == [True] and frozen.training and not frozen.norm.training
    assert model.training and model[0].training
    model.eval()
    assert frozen.calls == [True, False] and not frozen.training


def test_zero_grad_and_requires_grad():
    net = Net()
    net(randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())

    assert net.first.requires_grad_(False) is net.first
    net(randn(5, 3)).sum().backward()
    assert net.first.conv.weight.grad is None
    assert net.head[1].weight.grad is not None


def test_apply_visits_children_first_and_returns_self():
    net = Net()
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "Block", "ReLU", "Linear", "Sequential", "Net"]


def test_to_double_keeps_identity_and_integer_buffers():
    net = Net()
    weight = net.first.conv.weight
    net(randn(2, 3)).sum().backward()
    assert net.double() is net
    assert weight is net.first.conv.weight
    assert weight.dtype == np.float64 and weight.grad.dtype == np.float64
    assert net.first.steps.dtype == np.int64
    out = net(randn(2, 3, dtype=np.float64))
    assert out.dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert net.to("cpu") is net
    with pytest.raises(DTypeError):
        net.to(np.int32)
    with pytest.raises(ValueError, match="CPU"):
        net.to("cuda")


def test_parameters_are_float32_by_default_and_dtype_argument():
    assert all(p.dtype == np.float32 for p in Net().parameters())
    assert nn.Linear(2, 2, dtype=np.float64).weight.dtype == np.float64
    assert nn.Conv2d(1, 2, 3, dtype="float64").bias.dtype == np.float64


def test_parameter_basics():
    p = nn.Parameter(np.arange(3.0))
    assert isinstance(p, Tensor) and p.requires_grad and p.is_leaf
    assert p.dtype == np.float64  # a float64 array keeps its dtype
    assert repr(nn.Parameter([1.0])) == "Parameter containing:\ntensor([1.], requires_grad=True)"
    t = Tensor([1.0, 2.0])
    shared = nn.Parameter(t)
    assert shared.numpy() is t.numpy()  # shares the tensor's data, as torch
    frozen = nn.Parameter([1.0], requires_grad=False)
    assert not frozen.requires_grad
    y = p * 2
    assert type(y) is Tensor
    assert nn.Parameter().shape == (0,)


def test_deepcopy_gives_independent_parameters():
    net = Net()
    twin = copy.deepcopy(net)
    assert isinstance(twin.first.conv.weight, nn.Parameter)
    assert twin.first.conv.weight is not net.first.conv.weight
    twin.first.conv.weight.numpy()[...] = 0
    assert net.first.conv.weight.numpy().any()
    x = randn(2, 3)
    assert twin(x).shape == (2, 2)


def test_forward_hooks():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    seen = []
    handle = model[0].register_forward_hook(lambda m, args, out: seen.append(out.shape))
    pre = model.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    out = model(randn(2, 3))
    assert seen == [(2, 4)]
    bias = model[0].bias.numpy()
    np.testing.assert_allclose(out.numpy(), np.maximum(bias, 0)[None].repeat(2, 0))
    handle.remove()
    pre.remove()
    model(randn(2, 3))
    assert len(seen) == 1


def test_get_submodule_and_parameter():
    net = Net()
    assert net.get_submodule("head.1") is net.head[1]
    assert net.get_parameter("first.conv.bias") is net.first.conv.bias
    with pytest.raises(AttributeError, match="no sub-module 'nope'"):
        net.get_submodule("head.nope")


def test_repr_matches_pytorch(torch_or_skip):
    torch = torch_or_skip
    tnn = torch.nn
    ours = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3, bias=False),
        nn.Dropout(), nn.LayerNorm(3), nn.LeakyReLU(), nn.PReLU(), nn.ELU(), nn.SELU(),
        nn.Softplus(), nn.Softmax(dim=1), nn.LogSoftmax(1), nn.InstanceNorm2d(3),
        nn.BatchNorm1d(3), nn.Identity(), nn.Sigmoid(), nn.Tanh(),
        nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()]),
        nn.ModuleDict({"a": nn.ReLU()}), nn.CrossEntropyLoss(), nn.MSELoss(),
        nn.Conv2d(2, 4, 3, stride=2, groups=2, bias=False, dilation=2),
        nn.Conv2d(2, 4, 3, padding="same"),
    )
    theirs = tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2), tnn.BatchNorm2d(6), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.AvgPool2d(2), tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(6, 3, bias=False),
        tnn.Dropout(), tnn.LayerNorm(3), tnn.LeakyReLU(), tnn.PReLU(), tnn.ELU(), tnn.SELU(),
        tnn.Softplus(), tnn.Softmax(dim=1), tnn.LogSoftmax(1), tnn.InstanceNorm2d(3),
        tnn.BatchNorm1d(3), tnn.Identity(), tnn.Sigmoid(), tnn.Tanh(),
        tnn.ModuleList([tnn.Linear(2, 2) for _ in range(3)] + [tnn.ReLU()]),
        tnn.ModuleDict({"a": tnn.ReLU()}), tnn.CrossEntropyLoss(), tnn.MSELoss(),
        tnn.Conv2d(2, 4, 3, stride=2, groups=2, bias=False, dilation=2),
        tnn.Conv2d(2, 4, 3, padding="same"),
    )
    assert repr(ours) == repr(theirs)
    assert repr(nn.Sequential()) == "Sequential()"


def test_seeded_initialisation_is_reproducible():
    manual_seed(3)
    a = Net().state_dict()
    manual_seed(3)
    b = Net().state_dict()
    for key in a:
        np.testing.assert_array_equal(a[key].numpy(), b[key].numpy())


def test_data_and_training_modules_load_on_first_use():
    import types

    assert isinstance(nn.data, types.ModuleType) and isinstance(nn.training, types.ModuleType)
    assert callable(nn.fit)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        nn.nope  # noqa: B018
