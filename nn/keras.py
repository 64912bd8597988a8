"""A Keras-shaped facade over ``nn``, ``optim`` and ``nn.training``: the lectures' code runs.

The deep-learning slides (004) teach with Keras 1::

    model = Sequential()
    model.add(Dense(input_dim=28 * 28, output_dim=500))
    model.add(Activation('sigmoid'))
    model.add(Dense(output_dim=10))
    model.add(Activation('softmax'))
    model.compile(loss='mse', optimizer=SGD(lr=0.1), metrics=['accuracy'])
    model.fit(x_train, y_train, batch_size=100, nb_epoch=20)
    score = model.evaluate(x_test, y_test)       # [loss, accuracy]
    result = model.predict(x_test)

With ``from nn.keras import Sequential, Dense, Activation, Dropout, SGD, to_categorical``
in place of the Keras imports, that code runs unchanged on NumPy arrays. Nothing here is
a second engine: each Keras layer becomes the ``nn`` module that does the same thing
(``Dense`` is an ``nn.Linear``, ``Activation('relu')`` an ``nn.ReLU``, ...), the
optimizers are ``optim``'s, and ``fit``/``evaluate``/``predict`` are
``nn.training.fit``/``evaluate``/``predict`` over a ``DataLoader``. ``model.module`` is
the ``nn.Sequential`` it built, for drawing or inspecting with the rest of the library.

Keras semantics kept on purpose (they differ from PyTorch's habits):

* ``Activation('softmax')`` is part of the model, so outputs are probabilities and
  ``loss='categorical_crossentropy'`` takes probabilities and one-hot targets
  (``-sum(y * log(p))`` per sample, ``p`` clipped to [1e-7, 1 - 1e-7] as Keras does).
  ``loss='mse'`` compares those probabilities with the one-hot targets (mean over the
  classes and the batch, as Keras).
* ``Dense`` layers start as Keras's do: Glorot-uniform weights, zero biases.
* ``Dropout(rate)``: ``rate`` is the fraction *dropped* (Keras's and PyTorch's ``p``).
* Keras 1 spellings are accepted next to Keras 2's: ``output_dim`` / ``units``,
  ``nb_epoch`` / ``epochs``, ``lr`` / ``learning_rate``, ``nb_classes`` / ``num_classes``.
"""

import math

import numpy as np

import nn
import nn.functional as F
import optim
from autograd_core.tensor import Tensor
from nn.data import DataLoader, TensorDataset
from nn.training.loop import evaluate as _evaluate
from nn.training.loop import fit as _fit
from nn.training.loop import predict as _predict

__all__ = [
    "Sequential", "Dense", "Activation", "Dropout", "Flatten",
    "SGD", "Adam", "RMSprop", "Adagrad", "to_categorical", "History",
]


# ----------------------------------------------------------------------------- layers

class Layer:
    """Base of the facade's layers: each builds one ``nn`` module once its input width
    is known (``build(in_features) -> (module, out_features)``)."""

    def build(self, in_features):  # pragma: no cover - every layer overrides it
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class Dense(Layer):
    """A fully connected layer: ``Dense(units)`` or Keras 1's ``Dense(output_dim=...)``.

    ``input_dim`` (or ``input_shape=(d,)``) is needed on the first layer only.
    ``activation`` may name an activation as in :class:`Activation`.
    """

    def __init__(self, units=None, *, output_dim=None, input_dim=None, input_shape=None,
                 activation=None, use_bias=True):
        if units is not None and output_dim is not None and units != output_dim:
            raise ValueError(f"Dense: units={units} and output_dim={output_dim} disagree; "
                             "give one of them")
        units = units if units is not None else output_dim
        if units is None:
            raise ValueError("Dense: give the layer's width, units= (or output_dim=)")
        self.units = _positive_int(units, "Dense: units (output_dim)")
        if input_shape is not None:
            shape = tuple(input_shape)
            if len(shape) != 1:
                raise ValueError(f"Dense: input_shape must be (features,), got {input_shape}"
                                 "; add Flatten() first for images")
            if input_dim is not None and input_dim != shape[0]:
                raise ValueError(f"Dense: input_dim={input_dim} and input_shape={input_shape}"
                                 " disagree")
            input_dim = shape[0]
        self.input_dim = None if input_dim is None else _positive_int(input_dim,
                                                                      "Dense: input_dim")
        self.activation = None if activation is None else Activation(activation)
        self.use_bias = bool(use_bias)

    def build(self, in_features):
        if self.input_dim is not None and in_features is not None and \
                in_features != self.input_dim:
            raise ValueError(f"Dense: input_dim={self.input_dim} but the previous layer "
                             f"gives {in_features} features")
        in_features = self.input_dim if self.input_dim is not None else in_features
        if in_features is None:
            raise ValueError("Dense: the first layer needs input_dim= (e.g. "
                             "Dense(input_dim=28*28, output_dim=500))")
        linear = nn.Linear(in_features, self.units, bias=self.use_bias)
        nn.init.xavier_uniform_(linear.weight)  # Keras's glorot_uniform
        if linear.bias is not None:
            nn.init.zeros_(linear.bias)
        modules = [linear]
        if self.activation is not None:
            modules.append(self.activation.build(self.units)[0])
        module = modules[0] if len(modules) == 1 else nn.Sequential(*modules)
        return module, self.units

    def __repr__(self):
        return f"Dense(units={self.units}, input_dim={self.input_dim})"


def _softmax_rows():
    return nn.Softmax(dim=1)


# name -> a factory of the nn module (Keras's names)
_ACTIVATIONS = {
    "sigmoid": nn.Sigmoid,
    "relu": nn.ReLU,
    "softmax": _softmax_rows,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "softplus": nn.Softplus,
    "linear": nn.Identity,
}


class Activation(Layer):
    """``Activation('sigmoid' | 'relu' | 'softmax' | 'tanh' | 'elu' | 'selu' | 'softplus'
    | 'linear')``; softmax is over the features of each sample."""

    def __init__(self, activation):
        if isinstance(activation, Activation):
            activation = activation.name
        if not isinstance(activation, str) or activation.lower() not in _ACTIVATIONS:
            raise ValueError(f"Activation: unknown activation {activation!r}; known: "
                             f"{', '.join(sorted(_ACTIVATIONS))}")
        self.name = activation.lower()

    def build(self, in_features):
        return _ACTIVATIONS[self.name](), in_features

    def __repr__(self):
        return f"Activation({self.name!r})"


class Dropout(Layer):
    """``Dropout(rate)``: during ``fit`` each unit is zeroed with probability ``rate``
    and the survivors are scaled by ``1 / (1 - rate)`` (inverted dropout); nothing
    happens in ``evaluate``/``predict``."""

    def __init__(self, rate):
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or \
                not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be a fraction in [0, 1), got {rate!r}")
        self.rate = float(rate)

    def build(self, in_features):
        return nn.Dropout(p=self.rate), in_features

    def __repr__(self):
        return f"Dropout({self.rate})"


class Flatten(Layer):
    """Flattens each sample, e.g. images (N, 1, 28, 28) to (N, 784).

    ``input_shape`` (without the batch dim) is needed when it is the first layer and
    the next layer is a ``Dense`` without ``input_dim``."""

    def __init__(self, input_shape=None):
        self.input_shape = None if input_shape is None else tuple(input_shape)

    def build(self, in_features):
        if self.input_shape is not None:
            in_features = int(np.prod(self.input_shape))
        return nn.Flatten(), in_features


# ------------------------------------------------------------------------- optimizers

class _OptimizerConfig:
    """An optimizer's settings, turned into the ``optim`` optimizer at ``compile``."""

    _optim = None
    _defaults = {}

    def __init__(self, lr=None, learning_rate=None, **kwargs):
        if lr is not None and learning_rate is not None and lr != learning_rate:
            raise ValueError(f"{type(self).__name__}: lr={lr} and learning_rate="
                             f"{learning_rate} disagree; give one of them")
        lr = lr if lr is not None else learning_rate
        lr = self._defaults["lr"] if lr is None else lr
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or \
                not math.isfinite(lr) or lr <= 0:
            raise ValueError(f"{type(self).__name__}: lr must be a positive number, got {lr!r}")
        unknown = sorted(set(kwargs) - set(self._defaults))
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown argument(s) {', '.join(unknown)}; "
                            f"known: lr, {', '.join(k for k in self._defaults if k != 'lr')}")
        self.lr = float(lr)
        self.options = {k: kwargs.get(k, v) for k, v in self._defaults.items() if k != "lr"}

    def create(self, parameters):
        return self._optim(parameters, lr=self.lr, **self._translate(self.options))

    def _translate(self, options):
        return dict(options)

    def __repr__(self):
        return f"{type(self).__name__}(lr={self.lr})"


class SGD(_OptimizerConfig):
    """Keras's SGD: ``SGD(lr=0.01, momentum=0.0, nesterov=False)`` (``optim.SGD``)."""

    _optim = optim.SGD
    _defaults = {"lr": 0.01, "momentum": 0.0, "nesterov": False}


class Adam(_OptimizerConfig):
    """Keras's Adam: ``Adam(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``."""

    _optim = optim.Adam
    _defaults = {"lr": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}

    def _translate(self, options):
        return {"betas": (options["beta_1"], options["beta_2"]), "eps": options["epsilon"]}


class RMSprop(_OptimizerConfig):
    """Keras's RMSprop: ``RMSprop(lr=0.001, rho=0.9, epsilon=1e-7)``."""

    _optim = optim.RMSprop
    _defaults = {"lr": 0.001, "rho": 0.9, "epsilon": 1e-7}

    def _translate(self, options):
        return {"alpha": options["rho"], "eps": options["epsilon"]}


class Adagrad(_OptimizerConfig):
    """Keras's Adagrad: ``Adagrad(lr=0.01, epsilon=1e-7)``."""

    _optim = optim.Adagrad
    _defaults = {"lr": 0.01, "epsilon": 1e-7}

    def _translate(self, options):
        return {"eps": options["epsilon"]}


_OPTIMIZERS = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad}


# ----------------------------------------------------------------------------- losses

_EPSILON = 1e-7  # Keras's backend epsilon: probabilities are clipped to [eps, 1 - eps]


def _mse(outputs, targets):
    return F.mse_loss(outputs, targets)


def _mae(outputs, targets):
    return F.l1_loss(outputs, targets)


def _categorical_crossentropy(outputs, targets):
    # Keras's: the outputs are probabilities (after Activation('softmax')), the targets
    # one-hot (or any distribution); -sum(y log p) per sample, averaged over the batch.
    p = outputs.clamp(_EPSILON, 1 - _EPSILON)
    return -(targets * p.log()).sum(dim=1).mean()


def _sparse_categorical_crossentropy(outputs, targets):
    p = outputs.clamp(_EPSILON, 1 - _EPSILON)
    return F.nll_loss(p.log(), targets)


def _binary_crossentropy(outputs, targets):
    return F.binary_cross_entropy(outputs.clamp(_EPSILON, 1 - _EPSILON), targets)


_LOSSES = {
    "mse": _mse, "mean_squared_error": _mse,
    "mae": _mae, "mean_absolute_error": _mae,
    "categorical_crossentropy": _categorical_crossentropy,
    "sparse_categorical_crossentropy": _sparse_categorical_crossentropy,
    "binary_crossentropy": _binary_crossentropy,
}


# ---------------------------------------------------------------------------- helpers

def _positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")
    return int(value)


def to_categorical(y, num_classes=None, nb_classes=None, dtype="float32"):
    """Class indices (N,) -> one-hot rows (N, num_classes), float32 (Keras's
    ``to_categorical``; ``nb_classes`` is Keras 1's spelling)."""
    if num_classes is not None and nb_classes is not None and num_classes != nb_classes:
        raise ValueError(f"to_categorical: num_classes={num_classes} and nb_classes="
                         f"{nb_classes} disagree")
    num_classes = num_classes if num_classes is not None else nb_classes
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"to_categorical: y must be class indices of shape (N,), got {y.shape}")
    if y.size and (not np.all(np.equal(np.mod(y, 1), 0)) or y.min() < 0):
        raise ValueError("to_categorical: y must hold non-negative integer class indices")
    y = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    num_classes = int(num_classes)
    if y.size and y.max() >= num_classes:
        raise ValueError(f"to_categorical: class {int(y.max())} does not fit num_classes="
                         f"{num_classes}")
    out = np.zeros((len(y), num_classes), dtype=dtype)
    out[np.arange(len(y)), y] = 1
    return out


class History:
    """What ``fit`` returns, as in Keras: ``history.history['loss']``, ``['accuracy']``,
    ``['val_loss']``, ... one value per epoch, and ``history.epoch``."""

    def __init__(self, history, epochs):
        self.history = history
        self.epoch = list(range(epochs))

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


# ------------------------------------------------------------------------------ model

class Sequential:
    """A stack of layers, built into an ``nn.Sequential`` (``model.module``)."""

    def __init__(self, layers=None):
        self.layers = []
        self.module = None
        self.loss = None
        self.optimizer = None
        self._loss_fn = None
        self._metrics = []
        self._metric_names = []
        self._n_features = None
        for layer in layers or ():
            self.add(layer)

    # building
    def add(self, layer):
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a layer (Dense, Activation, Dropout, "
                            f"Flatten), got {type(layer).__name__}")
        if self.module is not None:
            raise RuntimeError("Sequential.add: the model is already built (compiled or "
                               "trained); add every layer before compile")
        self.layers.append(layer)

    def _input_features(self):
        first = self.layers[0] if self.layers else None
        if isinstance(first, Dense):
            return first.input_dim
        if isinstance(first, Flatten) and first.input_shape is not None:
            return int(np.prod(first.input_shape))
        return None

    def _build(self, in_features=None):
        if self.module is not None:
            return
        if not self.layers:
            raise ValueError("Sequential: the model has no layers; add some with model.add")
        width, modules = in_features, []
        for layer in self.layers:
            module, width = layer.build(width)
            modules.append(module)
        self.module = nn.Sequential(*modules)
        self._n_features = in_features

    def compile(self, loss, optimizer="sgd", metrics=None):
        """``loss``: 'mse', 'mae', 'categorical_crossentropy',
        'sparse_categorical_crossentropy', 'binary_crossentropy' or a callable
        ``fn(outputs, targets)``; ``optimizer``: a name ('sgd', 'adam', 'rmsprop',
        'adagrad', with Keras's default rates) or ``SGD(lr=...)`` etc.; ``metrics``:
        ``['accuracy']`` (or ``'acc'``)."""
        if isinstance(loss, str):
            if loss not in _LOSSES:
                raise ValueError(f"compile: unknown loss {loss!r}; known: "
                                 f"{', '.join(sorted(_LOSSES))} or a callable")
            loss_fn = _LOSSES[loss]
        elif callable(loss):
            loss_fn = loss
        else:
            raise TypeError(f"compile: loss must be a name or a callable, got {loss!r}")
        if isinstance(optimizer, str):
            if optimizer.lower() not in _OPTIMIZERS:
                raise ValueError(f"compile: unknown optimizer {optimizer!r}; known: "
                                 f"{', '.join(sorted(_OPTIMIZERS))} or SGD(lr=...) etc.")
            optimizer = _OPTIMIZERS[optimizer.lower()]()
        if not isinstance(optimizer, _OptimizerConfig):
            raise TypeError("compile: optimizer must be a name ('sgd', 'adam', ...) or "
                            f"nn.keras.SGD(lr=...) etc., got {optimizer!r}")
        names = []
        for metric in metrics or ():
            if metric not in ("accuracy", "acc"):
                raise ValueError(f"compile: unknown metric {metric!r}; known: 'accuracy' "
                                 "('acc')")
            names.append(metric)
        self._build(self._input_features())
        self.loss, self._loss_fn = loss, loss_fn
        self.optimizer = optimizer.create(self.module.parameters())
        self._metric_names = names
        self._metrics = ["accuracy"] * bool(names)

    # data
    def _targets_dtype(self):
        sparse = self.loss == "sparse_categorical_crossentropy"
        return np.int64 if sparse else np.float32

    def _arrays(self, x, y, what):
        x = np.asarray(x.numpy() if isinstance(x, Tensor) else x, dtype=np.float32)
        if x.ndim < 2:
            raise ValueError(f"{what}: x must be (samples, features), got shape {x.shape}")
        if y is None:
            return x, None
        y = np.asarray(y.numpy() if isinstance(y, Tensor) else y)
        if len(y) != len(x):
            raise ValueError(f"{what}: x has {len(x)} samples but y has {len(y)}")
        widths = [layer.units for layer in self.layers if isinstance(layer, Dense)]
        if y.ndim == 1 and widths and widths[-1] > 1 and \
                self.loss in ("mse", "mean_squared_error", "mae", "mean_absolute_error",
                              "categorical_crossentropy"):
            raise ValueError(f"{what}: loss={self.loss!r} with {widths[-1]} outputs needs "
                             "one-hot targets (N, classes), got class indices (N,); use "
                             "to_categorical(y) (or loss='sparse_categorical_crossentropy')")
        return x, y.astype(self._targets_dtype())

    def _loader(self, x, y, batch_size, shuffle):
        batch_size = _positive_int(batch_size, "batch_size")
        return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle)

    def _check_compiled(self, what):
        if self.optimizer is None:
            raise RuntimeError(f"{what}: compile the model first, e.g. model.compile("
                               "loss='categorical_crossentropy', optimizer=SGD(lr=0.1), "
                               "metrics=['accuracy'])")

    def _rename(self, logs, prefix=""):
        out = {}
        for key, value in logs.items():
            if key == "lr":
                continue
            base = key[len("val_"):] if key.startswith("val_") else key
            pre = "val_" if key.startswith("val_") else prefix
            if base == "accuracy" and self._metric_names:
                base = self._metric_names[0]
            out[pre + base] = value
        return out

    # training and inference
    def fit(self, x, y, batch_size=32, nb_epoch=None, epochs=None, verbose=1,
            validation_data=None, validation_split=0.0, shuffle=True):
        """Train; returns a :class:`History` (``history.history['loss']``, ...).

        ``nb_epoch`` (Keras 1) or ``epochs`` (Keras 2; default 1). ``verbose``: 0 silent,
        1 or 2 one line per epoch. ``validation_data=(x_val, y_val)`` or
        ``validation_split`` (the last fraction of ``x``, as Keras) adds ``val_*``."""
        self._check_compiled("fit")
        if nb_epoch is not None and epochs is not None and nb_epoch != epochs:
            raise ValueError(f"fit: nb_epoch={nb_epoch} and epochs={epochs} disagree; "
                             "give one of them")
        epochs = nb_epoch if nb_epoch is not None else (1 if epochs is None else epochs)
        epochs = _positive_int(epochs, "fit: epochs (nb_epoch)")
        if verbose not in (0, 1, 2, True, False):
            raise ValueError(f"fit: verbose must be 0, 1 or 2, got {verbose!r}")
        x, y = self._arrays(x, y, "fit")
        if not 0 <= validation_split < 1:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split}")
        if validation_data is not None and validation_split:
            raise ValueError("fit: give validation_data or validation_split, not both")
        if validation_split:
            cut = int(len(x) * (1 - validation_split))
            x, y, validation_data = x[:cut], y[:cut], (x[cut:], y[cut:])
        val_loader = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("fit: validation_data must be a pair (x_val, y_val)")
            xv, yv = self._arrays(*validation_data, "fit (validation_data)")
            val_loader = self._loader(xv, yv, batch_size, shuffle=False)
        history = _fit(self.module, self._loss_fn, self.optimizer,
                       self._loader(x, y, batch_size, shuffle=bool(shuffle)), epochs,
                       val_loader=val_loader, metrics=self._metrics, progress=bool(verbose),
                       verbose=bool(verbose))
        renamed = {}
        for key, values in history.history.items():
            if key == "lr":
                continue
            new = next(iter(self._rename({key: 0})))
            renamed[new] = [float(v) for v in values]
        return History(renamed, history.epochs)

    def evaluate(self, x, y, batch_size=32, verbose=0):
        """``[loss, accuracy]`` on (x, y) (just the loss without metrics), as Keras."""
        self._check_compiled("evaluate")
        x, y = self._arrays(x, y, "evaluate")
        logs = _evaluate(self.module, self._loss_fn,
                         self._loader(x, y, batch_size, shuffle=False), self._metrics)
        values = [float(logs["loss"])] + [float(logs["accuracy"]) for _ in self._metrics]
        if verbose:
            print("  ".join(f"{k} {v:.4f}" for k, v in zip(self.metrics_names, values)))
        return values if self._metrics else values[0]

    @property
    def metrics_names(self):
        return ["loss"] + self._metric_names[:1]

    def predict(self, x, batch_size=32, verbose=0):
        """The model's outputs for ``x`` as a NumPy array (probabilities after softmax)."""
        x, _ = self._arrays(x, None, "predict")
        if self.module is None:
            self._build(self._input_features() or int(np.prod(x.shape[1:])))
        return _predict(self.module, x, batch_size=_positive_int(batch_size, "batch_size"))

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Keras 1's ``predict_classes``: the most probable class of each sample."""
        return self.predict(x, batch_size=batch_size).argmax(axis=1)

    # weights, as Keras lays them out: Dense kernel (in, out), then bias
    def get_weights(self):
        self._build(self._input_features())
        out = []
        for module in self.module.modules():
            if isinstance(module, nn.Linear):
                out.append(module.weight.numpy().T.copy())
                if module.bias is not None:
                    out.append(module.bias.numpy().copy())
        return out

    def count_params(self):
        self._build(self._input_features())
        return int(sum(np.prod(p.shape) for p in self.module.parameters()))

    def summary(self, print_fn=print):
        self._build(self._input_features())
        print_fn(f"{'layer':<34s} {'output':>8s} {'params':>10s}")
        width = self._n_features
        for layer, module in zip(self.layers, self.module):
            params = int(sum(np.prod(p.shape) for p in module.parameters()))
            width = getattr(layer, "units", width)
            print_fn(f"{layer!r:<34s} {str(width):>8s} {params:>10,d}")
        print_fn(f"total parameters: {self.count_params():,d}")

    def __repr__(self):
        return f"Sequential({self.layers})"
