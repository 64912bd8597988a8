"""PyTorch programs that run after swapping the imports only.

Each test is a short program written as PyTorch's tutorials and Karpathy's makemore
lectures write it, with ``import autograd_core as torch``, ``import nn``,
``import nn.functional as F`` and ``import optim`` in place of PyTorch's imports
(issue 13). Where PyTorch is installed the numbers are also checked against it.
"""

import os

import numpy as np
import pytest

import autograd_core as torch
import nn
import nn.functional as F
import optim

WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia",
         "harper", "evelyn", "abigail", "emily", "elizabeth", "mila", "ella", "avery"]


def test_tensor_tutorial():
    # PyTorch "Tensors" tutorial (Learn the Basics), unchanged but for the import
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    x_ones = torch.ones_like(x_data)
    x_rand = torch.rand_like(x_data, dtype=torch.float)
    assert x_ones.dtype == torch.int64 and x_rand.dtype == torch.float32
    assert x_np.tolist() == data
    shape = (2, 3,)
    rand_tensor, ones_tensor = torch.rand(shape), torch.ones(shape)
    zeros_tensor = torch.zeros(shape)
    assert rand_tensor.shape == ones_tensor.shape == zeros_tensor.shape == torch.Size([2, 3])
    tensor = torch.rand(3, 4)
    assert f"Shape of tensor: {tensor.shape}" == "Shape of tensor: torch.Size([3, 4])"
    assert f"Datatype of tensor: {tensor.dtype}" == "Datatype of tensor: float32"
    assert f"Device tensor is stored on: {tensor.device}" == "Device tensor is stored on: cpu"
    if torch.accelerator.is_available():
        tensor = tensor.to(torch.accelerator.current_accelerator())
    if torch.cuda.is_available():
        tensor = tensor.to("cuda")
    tensor = torch.ones(4, 4)
    assert f"First row: {tensor[0]}" == "First row: tensor([1., 1., 1., 1.])"
    assert tensor[..., -1].tolist() == [1.0] * 4
    tensor[:, 1] = 0
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    assert t1.shape == (4, 12)
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    y3 = torch.rand_like(y1)
    torch.matmul(tensor, tensor.T, out=y3)
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)
    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    assert torch.equal(y1, y2) and torch.equal(y1, y3) and torch.equal(z1, z2)
    assert torch.equal(z1, z3)
    agg = tensor.sum()
    agg_item = agg.item()
    assert agg_item == 12.0 and type(agg_item) is float
    tensor.add_(5)
    assert tensor[0, 0].item() == 6.0
    t = torch.ones(5)
    n = t.numpy()
    t.add_(1)
    assert n[0] == 2
    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)
    assert t[0] == 2 and str(t) == "tensor([2., 2., 2., 2., 2.], dtype=torch.float64)"


def test_autograd_tutorial():
    # PyTorch "Automatic Differentiation with torch.autograd"
    torch.manual_seed(0)
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    assert f"Gradient function for z = {z.grad_fn}".startswith("Gradient function for z = <")
    assert loss.grad_fn is not None
    loss.backward()
    assert w.grad.shape == (5, 3) and b.grad.shape == (3,)
    z = torch.matmul(x, w) + b
    assert z.requires_grad
    with torch.no_grad():
        z = torch.matmul(x, w) + b
    assert not z.requires_grad
    z = torch.matmul(x, w) + b
    z_det = z.detach()
    assert not z_det.requires_grad
    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    first = inp.grad.clone()
    out.backward(torch.ones_like(out), retain_graph=True)
    assert torch.allclose(inp.grad, 2 * first)
    inp.grad.zero_()
    out.backward(torch.ones_like(out), retain_graph=True)
    assert torch.equal(inp.grad, first)
    # a custom Function and gradients of gradients, as in the autograd docs
    class Exp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, i):
            result = np.exp(i)
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    v = torch.tensor([0.5, 1.0], requires_grad=True)
    Exp.apply(v).sum().backward()
    assert torch.allclose(v.grad, v.detach().exp())
    s = torch.tensor(3.0, requires_grad=True)
    (ds,) = torch.autograd.grad(s ** 3, s, create_graph=True)
    (dds,) = torch.autograd.grad(ds, s)
    assert ds.item() == 27.0 and dds.item() == 18.0


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(8 * 8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


def _dataset(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 4, (n,), generator=g)
    images = torch.randn(n, 1, 8, 8, generator=g) * 0.5
    images[:, 0, :, :2] += labels.float().reshape(-1, 1, 1)  # learnable from pixels
    return torch.utils.data.TensorDataset(images, labels)


def test_training_loop_with_dataloader():
    # PyTorch "Optimizing Model Parameters" / quickstart, on a small synthetic dataset
    device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() \
        else "cpu"
    torch.manual_seed(0)
    model = NeuralNetwork().to(device)
    train_dataloader = torch.utils.data.DataLoader(_dataset(), batch_size=32, shuffle=True)
    test_dataloader = torch.utils.data.DataLoader(_dataset(64, seed=1), batch_size=32)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def train_loop(dataloader, model, loss_fn, optimizer):
        model.train()
        for batch, (X, y) in enumerate(dataloader):
            X, y = X.to(device), y.to(device)
            pred = model(X)
            loss = loss_fn(pred, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            if batch % 100 == 0:
                loss, current = loss.item(), batch * 32 + len(X)
                assert f"loss: {loss:>7f}  [{current:>5d}]"

    def test_loop(dataloader, model, loss_fn):
        model.eval()
        size, num_batches = len(dataloader.dataset), len(dataloader)
        test_loss, correct = 0, 0
        with torch.no_grad():
            for X, y in dataloader:
                pred = model(X)
                test_loss += loss_fn(pred, y).item()
                correct += (pred.argmax(1) == y).type(torch.float).sum().item()
        return test_loss / num_batches, correct / size

    before, _ = test_loop(test_dataloader, model, loss_fn)
    for _ in range(5):
        train_loop(train_dataloader, model, loss_fn, optimizer)
    after, accuracy = test_loop(test_dataloader, model, loss_fn)
    assert after < before and accuracy > 0.5
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 64 * 32 + 32 + \
        32 * 32 + 32 + 32 * 4 + 4


def test_state_dict_round_trip(tmp_path):
    # PyTorch "Saving and Loading Models": weights, a checkpoint dict, a tensor list
    torch.manual_seed(1)
    model = NeuralNetwork()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(2, 1, 8, 8)).sum().backward()
    optimizer.step()
    path = os.path.join(tmp_path, "model_weights.pth")
    torch.save(model.state_dict(), path)
    model2 = NeuralNetwork()
    model2.load_state_dict(torch.load(path, weights_only=True))
    model2.eval()
    x = torch.randn(3, 1, 8, 8)
    assert torch.equal(model(x), model2(x))
    checkpoint = os.path.join(tmp_path, "checkpoint.tar")
    torch.save({"epoch": 5, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(), "loss": 0.25}, checkpoint)
    loaded = torch.load(checkpoint, weights_only=True, map_location="cpu")
    model3, optimizer3 = NeuralNetwork(), optim.Adam(NeuralNetwork().parameters(), lr=1e-3)
    model3.load_state_dict(loaded["model_state_dict"])
    optimizer3 = optim.Adam(model3.parameters(), lr=1e-3)
    optimizer3.load_state_dict(loaded["optimizer_state_dict"])
    assert loaded["epoch"] == 5 and loaded["loss"] == 0.25
    assert torch.equal(model3(x), model(x))
    tensors = os.path.join(tmp_path, "tensors.pt")
    torch.save([torch.arange(3), {"w": torch.ones(2)}], tensors)
    back = torch.load(tensors)
    assert back[0].tolist() == [0, 1, 2] and back[1]["w"].tolist() == [1.0, 1.0]


def _bigram_counts():
    chars = sorted(list(set("".join(WORDS))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    itos = {i: s for s, i in stoi.items()}
    n = len(stoi)
    N = torch.zeros((n, n), dtype=torch.int32)
    for w in WORDS:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            N[stoi[ch1], stoi[ch2]] += 1
    return N, stoi, itos


def test_makemore_bigram_counts_sampling_and_neural_net():
    # makemore part 1: counts, sampling with a Generator, then a one-layer neural net
    N, stoi, itos = _bigram_counts()
    n = len(stoi)
    assert N.dtype == torch.int32 and N.sum().item() == sum(len(w) + 1 for w in WORDS)
    P = (N + 1).float()
    P /= P.sum(1, keepdims=True)
    g = torch.Generator().manual_seed(2147483647)
    names = []
    for _ in range(5):
        out, ix = [], 0
        while True:
            p = P[ix]
            ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
            out.append(itos[ix])
            if ix == 0:
                break
        names.append("".join(out))
    assert all(name.endswith(".") for name in names)
    log_likelihood, count = 0.0, 0
    for w in WORDS:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            log_likelihood += torch.log(P[stoi[ch1], stoi[ch2]])
            count += 1
    nll = -log_likelihood / count
    assert f"{nll=}".startswith("nll=tensor(") and 1.0 < nll.item() < 3.0

    xs, ys = [], []
    for w in WORDS:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            xs.append(stoi[ch1])
            ys.append(stoi[ch2])
    xs, ys = torch.tensor(xs), torch.tensor(ys)
    num = xs.nelement()
    g = torch.Generator().manual_seed(2147483647)
    W = torch.randn((n, n), generator=g, requires_grad=True)
    losses = []
    for _ in range(30):
        xenc = F.one_hot(xs, num_classes=n).float()
        logits = xenc @ W
        counts = logits.exp()
        probs = counts / counts.sum(1, keepdims=True)
        loss = -probs[torch.arange(num), ys].log().mean() + 0.01 * (W ** 2).mean()
        losses.append(loss.item())
        W.grad = None
        loss.backward()
        W.data += -10 * W.grad
    assert losses[-1] < losses[0]


def test_makemore_mlp():
    # makemore part 2: embeddings, a hidden tanh layer, minibatches, a learning-rate sweep
    _, stoi, itos = _bigram_counts()
    block_size, n = 3, len(stoi)
    X, Y = [], []
    for w in WORDS:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    X, Y = torch.tensor(X), torch.tensor(Y)
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((n, 2), generator=g)
    W1 = torch.randn((6, 50), generator=g)
    b1 = torch.randn(50, generator=g)
    W2 = torch.randn((50, n), generator=g)
    b2 = torch.randn(n, generator=g)
    parameters = [C, W1, b1, W2, b2]
    assert sum(p.nelement() for p in parameters) == n * 2 + 6 * 50 + 50 + 50 * n + n
    for p in parameters:
        p.requires_grad = True
    lre = torch.linspace(-3, 0, 100)
    lrs = 10 ** lre
    emb = C[X]
    assert emb.shape == (X.shape[0], 3, 2)
    assert torch.equal(torch.cat(torch.unbind(emb, 1), 1), emb.view(-1, 6))
    first = None
    for i in range(100):
        ix = torch.randint(0, X.shape[0], (32,), generator=g)
        emb = C[X[ix]]
        h = torch.tanh(emb.view(-1, 6) @ W1 + b1)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Y[ix])
        first = loss.item() if first is None else first
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = lrs[-1].item() if i < 50 else 0.1
        for p in parameters:
            p.data += -lr * p.grad
    emb = C[X]
    h = torch.tanh(emb.view(-1, 6) @ W1 + b1)
    full = F.cross_entropy(h @ W2 + b2, Y)
    assert full.item() < first


def test_micrograd_style_scalar_graph_against_torch(torch_or_skip):
    # micrograd's test_sanity_check and test_more_ops, the same text under both imports
    def program(torch):
        x = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
        z = 2 * x + 2 + x
        q = z.relu() + z * x
        h = (z * z).relu()
        y = h + q + q * x
        y.backward()
        a = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
        b = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
        c = a + b
        d = a * b + b ** 3
        c = c + c + 1
        c = c + 1 + c + (-a)
        d = d + d * 2 + (b + a).relu()
        d = d + 3 * d + (b - a).relu()
        e = c - d
        f = e ** 2
        g = f / 2.0
        g = g + 10.0 / f
        g.backward()
        return [y.item(), x.grad.item(), g.item(), a.grad.item(), b.grad.item()]

    np.testing.assert_allclose(program(torch), program(torch_or_skip), rtol=1e-12)


def test_ops_programs_reach_for(torch_or_skip):
    # a grab bag from the d2l book and PyTorch's docs, compared with PyTorch
    def program(torch):
        g = torch.arange(12, dtype=torch.float64).reshape(3, 4)
        out = [g.numel(), g.norm().item(), torch.linalg.norm(g).item(),
               g.cumsum(0).tolist(), g.prod(1).tolist(), g.flip(1).tolist(),
               g.roll(1, 0).tolist(), g.repeat(1, 2).shape, g.T.tril().tolist(),
               torch.einsum("ij,kj->ik", g, g).tolist(), g.topk(2).indices.tolist(),
               g.sort(descending=True).values.tolist(), torch.where(g > 5, g, -g).tolist(),
               g.gather(1, torch.tensor([[0], [1], [2]])).tolist(),
               g.masked_fill(g > 8, 0).tolist(), g.chunk(2, 1)[1].tolist(),
               g.split([1, 2])[1].tolist(), torch.std_mean(g, dim=1)[0].tolist(),
               g.var(1, correction=0).tolist(), torch.diag(g).tolist(),
               g.unfold(1, 2, 2).shape, g.clone().fill_(1).sum().item(),
               (g % 5).tolist(), (g // 5).tolist(), torch.atan2(g, g + 1).tolist(),
               g.clamp(2, 9).tolist(), torch.isclose(g, g + 1e-9).all().item(),
               g.argmax(dim=1).tolist(), g.amax(dim=0).tolist(), g.mean().item(),
               torch.logsumexp(g, dim=1).tolist(), g.sum_to_size(1, 4).tolist(),
               g[1, torch.tensor([0, 2])].tolist(), g.nonzero().shape,
               torch.stack([g, g]).shape, g.unsqueeze(0).expand(2, 3, 4).shape,
               g.new_zeros(2).tolist() if hasattr(g, "new_zeros") else [0.0, 0.0]]
        return [list(x) if type(x).__name__ == "Size" else x for x in out]

    ours, theirs = program(torch), program(torch_or_skip)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                                   rtol=1e-12, err_msg=f"item {i}")


def test_device_and_dtype_idioms():
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert device == torch.device("cpu") and str(device) == "cpu"
    assert not torch.backends.mps.is_available()
    torch.backends.cudnn.deterministic = True
    torch.cuda.manual_seed_all(0)
    torch.set_default_device("cpu")
    x = torch.zeros(2, device=device, dtype=torch.float64)
    assert x.dtype == torch.float64 == torch.double and x.device == device
    assert x.to(device).cpu() is x and x.long().dtype == torch.long
    assert x.type(torch.int32).dtype == torch.int32 and x.float().dtype == torch.float
    model = nn.Linear(2, 1).to(device)
    assert model.type(torch.float64).weight.dtype == torch.float64
    with pytest.raises(RuntimeError, match="CPU"):
        torch.zeros(1, device="cuda")
    with pytest.raises(RuntimeError, match="CPU"):
        x.to("cuda")


def test_module_idioms():
    # forward hooks for activations, submodules by name, freezing, dtype conversion
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 1)))
    activations = {}

    def save_output(name):
        def hook(module, inputs, output):
            activations[name] = output.detach()
        return hook

    handle = model[0].register_forward_hook(save_output("fc1"))
    model(torch.randn(4, 2))
    handle.remove()
    assert activations["fc1"].shape == (4, 3)
    activations.clear()
    model(torch.randn(4, 2))
    assert activations == {}
    assert [name for name, _ in model.named_modules()] == ["", "0", "1", "2", "2.0"]
    assert model.get_submodule("2.0").out_features == 1
    model.get_submodule("0").requires_grad_(False)
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True]
    assert model.type(torch.double).get_submodule("2.0").weight.dtype == torch.float64
    assert model.cpu() is model and model.to(torch.device("cpu")) is model


def test_legacy_type_names_match_torch(torch_or_skip):
    t = torch_or_skip
    for data in ([1.0], [1], [True]):
        assert torch.tensor(data).type() == t.tensor(data).type()
    assert torch.tensor([1.5]).type("torch.LongTensor").tolist() == \
        t.tensor([1.5]).type("torch.LongTensor").tolist()
    assert torch.FloatTensor([1, 2]).tolist() == t.FloatTensor([1, 2]).tolist()
    assert torch.LongTensor(2, 3).shape == t.LongTensor(2, 3).shape


def test_d2l_linear_regression_and_softmax_idioms():
    # d2l.ai chapters 2-4: preliminaries, concise linear regression, softmax pieces
    x = torch.arange(12)
    X = x.reshape(3, 4)
    Z = torch.zeros_like(X)
    Z[:] = X + X
    assert Z[2].tolist() == [16, 18, 20, 22] and (X == X).all()
    a = torch.tensor([3.5])
    assert (a.item(), float(a), int(a)) == (3.5, 3.5, 3)
    A = torch.arange(20, dtype=torch.float32).reshape(5, 4)
    assert A.sum(axis=0).tolist() == A.cumsum(axis=0)[-1].tolist()
    assert A.mean(axis=[0, 1]).item() == 9.5 and A.sum(axis=1, keepdims=True).shape == (5, 1)
    v = torch.arange(4.0, requires_grad=True)
    y = 2 * torch.dot(v, v)
    y.backward()
    assert v.grad.tolist() == [0.0, 4.0, 8.0, 12.0]
    v.grad.zero_()
    (v * v).backward(gradient=torch.ones(len(v)))
    assert v.grad.tolist() == [0.0, 2.0, 4.0, 6.0]
    assert torch.randn(size=(2, 3)).shape == (2, 3)

    torch.manual_seed(0)
    true_w, true_b = torch.tensor([2, -3.4]), 4.2
    features = torch.normal(0, 1, (1000, len(true_w)))
    labels = torch.matmul(features, true_w) + true_b
    labels += torch.normal(0, 0.01, labels.shape)
    labels = labels.reshape((-1, 1))
    data_iter = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(features, labels),
                                            10, shuffle=True)
    net = nn.Sequential(nn.Linear(2, 1))
    net[0].weight.data.normal_(0, 0.01)
    net[0].bias.data.fill_(0)
    loss = nn.MSELoss()
    trainer = torch.optim.SGD(net.parameters(), lr=0.03)
    for _ in range(3):
        for Xb, yb in data_iter:
            batch_loss = loss(net(Xb), yb)
            trainer.zero_grad()
            batch_loss.backward()
            trainer.step()
    assert (net[0].weight.data.reshape(true_w.shape) - true_w).abs().max() < 0.05
    assert abs(net[0].bias.data.item() - true_b) < 0.05

    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    labels = torch.tensor([0, 2])
    assert y_hat[[0, 1], labels].tolist() == pytest.approx([0.1, 0.5])
    assert (-torch.log(y_hat[range(len(y_hat)), labels])).tolist() == pytest.approx(
        [2.302585, 0.693147], rel=1e-5)
    cmp = y_hat.argmax(axis=1).type(labels.dtype) == labels
    assert float(cmp.type(labels.dtype).sum()) == 1.0


def test_makemore_manual_backprop_checks():
    # makemore part 4: gradients by hand, compared with the engine's as the lecture does
    torch.manual_seed(3)
    logits = torch.randn(4, 5, requires_grad=True)
    Yb, n = torch.tensor([1, 0, 4, 2]), 4
    F.cross_entropy(logits, Yb).backward()
    dlogits = F.softmax(logits, 1).detach()
    dlogits[range(n), Yb] -= 1
    dlogits /= n
    assert torch.allclose(dlogits, logits.grad, atol=1e-7)
    assert (dlogits - logits.grad).abs().max().item() < 1e-6
    C, Xb = torch.randn(5, 2), torch.tensor([[0, 1], [1, 3]])
    demb = torch.randn(2, 2, 2)
    dC = torch.zeros_like(C)
    for k in range(Xb.shape[0]):
        for j in range(Xb.shape[1]):
            ix = Xb[k, j]
            dC[ix] += demb[k, j]
    assert torch.allclose(dC[1], demb[0, 1] + demb[1, 0])
    h = torch.randn(4, 3)
    bnvar_inv = (h.var(0, keepdim=True, unbiased=True) + 1e-5) ** -0.5
    assert bnvar_inv.shape == (1, 3)
    assert F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]).shape == (4, 5)
