"""Draw the two pictures of the README's teaching section into docs/ (needs Graphviz).

Run from the repository root: python scripts/docs_pictures.py
"""
import numpy as np

import autograd_core as ag
import nn.functional as F
from autograd_core.viz import draw_graph
from nn.models import LeNet5

t = {k: ag.Tensor(v, requires_grad=True, name=k) for k, v in
     dict(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0).items()}
L = (t["w0"] * t["x0"] + t["w1"] * t["x1"] + t["w2"]).sigmoid()
L.backward()
draw_graph(L).render("docs/neuron", format="png", cleanup=True)
ag.manual_seed(0)
rng = np.random.default_rng(0)
model = LeNet5(in_channels=1, num_classes=10, input_size=28)
x = ag.Tensor(rng.normal(size=(8, 1, 28, 28)).astype("float32"))
loss = F.cross_entropy(model(x), rng.integers(0, 10, size=8))
loss.backward()
draw_graph(loss, params=model).render("docs/lenet", format="png", cleanup=True)
