"""The training loop: ``fit``, ``evaluate`` and ``predict``.

``fit`` is the loop every PyTorch tutorial writes by hand, once, with the details
handled: ``model.train()`` while training and ``model.eval()`` plus ``no_grad`` while
validating, the scheduler stepped after the optimizer (with the validation loss for
``ReduceLROnPlateau``), optional gradient clipping, per-epoch history, callbacks that
can stop early and restore the best weights, and a tqdm progress bar with the running
loss when the output is a terminal.

>>> import numpy as np, nn, optim                                     # doctest: +SKIP
>>> from nn.data import DataLoader, TensorDataset                     # doctest: +SKIP
>>> model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))  # doctest: +SKIP
>>> history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), 1e-2),
...               DataLoader(data, batch_size=32, shuffle=True), epochs=20)  # doctest: +SKIP
>>> history["loss"][-1] < history["loss"][0]                       # doctest: +SKIP
True
"""

import math
import sys
import time

import numpy as np

from autograd_core.grad_mode import no_grad
from autograd_core.tensor import Tensor, as_tensor
from nn.training.metrics import resolve_metrics

__all__ = ["fit", "evaluate", "predict", "History"]


def _split_batch(batch):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return as_tensor(batch[0]), as_tensor(batch[1])
    raise ValueError(
        "each batch must be a pair (inputs, targets); got "
        f"{type(batch).__name__} of length {len(batch) if hasattr(batch, '__len__') else '?'}"
    )


class History:
    """Per-epoch values: ``history["loss"]``, ``history["val_accuracy"]``, ... (lists)."""

    def __init__(self):
        self.history = {}
        self.epochs = 0

    def append(self, logs: dict):
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        self.epochs += 1

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def __repr__(self):
        return f"History(epochs={self.epochs}, keys={list(self.history)})"


def _progress_bar(total, desc, enabled):
    if not enabled or not sys.stderr.isatty():
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, leave=False, unit="batch", dynamic_ncols=True)


def _run_epoch(model, loss_fn, optimizer, loader, metrics, clip_grad_norm, bar):
    model.train()
    totals = {name: 0.0 for name in metrics}
    loss_sum, seen = 0.0, 0
    for batch in loader:
        x, y = _split_batch(batch)
        optimizer.zero_grad()
        outputs = model(x)
        loss = loss_fn(outputs, y)
        value = float(loss.item())
        if not math.isfinite(value):
            raise FloatingPointError(
                f"the training loss became {value}; lower the learning rate or clip "
                "gradients (clip_grad_norm=...)"
            )
        loss.backward()
        if clip_grad_norm is not None:
            from nn.utils import clip_grad_norm_

            clip_grad_norm_(model.parameters(), clip_grad_norm)
        optimizer.step()
        n = len(x)
        loss_sum += value * n
        seen += n
        for name, fn in metrics.items():
            totals[name] += fn(outputs, y) * n
        # Drop this step's graph now, not when the next forward rebinds the names:
        # otherwise two batches of activations are alive at once.
        del outputs, loss
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}")
    if seen == 0:
        raise ValueError("the training loader produced no batches")
    logs = {"loss": loss_sum / seen}
    logs.update({name: total / seen for name, total in totals.items()})
    return logs


def evaluate(model, loss_fn, loader, metrics=("accuracy",)) -> dict:
    """Average loss and metrics over ``loader`` in eval mode without recording a graph.

    The model's train/eval mode is restored afterwards.
    """
    metrics = resolve_metrics(metrics)
    was_training = getattr(model, "training", False)
    model.eval()
    totals = {name: 0.0 for name in metrics}
    loss_sum, seen = 0.0, 0
    try:
        with no_grad():
            for batch in loader:
                x, y = _split_batch(batch)
                outputs = model(x)
                n = len(x)
                if loss_fn is not None:
                    loss_sum += float(loss_fn(outputs, y).item()) * n
                for name, fn in metrics.items():
                    totals[name] += fn(outputs, y) * n
                seen += n
    finally:
        model.train(was_training)
    if seen == 0:
        raise ValueError("evaluate: the loader produced no batches")
    logs = {"loss": loss_sum / seen} if loss_fn is not None else {}
    logs.update({name: total / seen for name, total in totals.items()})
    return logs


def predict(model, data, batch_size=256) -> np.ndarray:
    """The model's outputs for ``data`` (an array/Tensor of inputs or a loader of
    (inputs, targets) batches), in eval mode, as one NumPy array."""
    was_training = getattr(model, "training", False)
    model.eval()
    outputs = []
    try:
        with no_grad():
            if isinstance(data, (np.ndarray, Tensor)):
                array = data._data if isinstance(data, Tensor) else data
                for start in range(0, len(array), batch_size):
                    outputs.append(model(Tensor._make(array[start:start + batch_size]))._data)
            else:
                for batch in data:
                    x = batch[0] if isinstance(batch, (tuple, list)) else batch
                    outputs.append(model(as_tensor(x))._data)
    finally:
        model.train(was_training)
    return np.concatenate(outputs) if outputs else np.zeros((0,))


def _format_logs(epoch, epochs, logs, seconds):
    parts = [f"epoch {epoch:>{len(str(epochs))}}/{epochs}"]
    for key, value in logs.items():
        if key == "lr":
            parts.append(f"lr {value:.3g}")
        else:
            parts.append(f"{key} {value:.4f}")
    parts.append(f"({seconds:.1f}s)")
    return "  ".join(parts)


def fit(model, loss_fn, optimizer, train_loader, epochs, val_loader=None, scheduler=None,
        callbacks=(), metrics=("accuracy",), progress=True, clip_grad_norm=None,
        verbose=None, log=print) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``.

    Parameters
    ----------
    model, loss_fn, optimizer
        An ``nn.Module``, a loss ``fn(outputs, targets)`` and an ``optim`` optimizer.
    train_loader, val_loader
        Iterables of (inputs, targets) batches (``nn.data.DataLoader``).
    scheduler
        An ``optim.lr_scheduler`` scheduler, stepped once per epoch after training
        (``ReduceLROnPlateau`` gets ``val_loss``, or ``loss`` without a val_loader).
    callbacks
        ``EarlyStopping``, ``ModelCheckpoint`` or any :class:`Callback`.
    metrics
        Names (``"accuracy"``) or callables ``fn(outputs, targets) -> float``.
    progress
        Show a progress bar with the running loss (only when stderr is a terminal).
    clip_grad_norm
        If given, clip the gradients' total 2-norm to this value before each step.
    verbose
        Print one line per epoch with ``log`` (default: as ``progress``).

    Returns a :class:`History` with ``loss``, each metric, ``val_*`` when validating,
    and ``lr``.
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"fit: epochs must be a positive int, got {epochs!r}")
    metrics = resolve_metrics(metrics)
    verbose = progress if verbose is None else verbose
    if log is None:
        verbose = False
    history = History()
    callbacks = list(callbacks)
    for callback in callbacks:
        callback.on_train_begin(model)
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            total = len(train_loader) if hasattr(train_loader, "__len__") else None
            bar = _progress_bar(total, f"epoch {epoch}/{epochs}", progress)
            try:
                logs = _run_epoch(model, loss_fn, optimizer, train_loader, metrics,
                                  clip_grad_norm, bar)
            finally:
                if bar is not None:
                    bar.close()
            if val_loader is not None:
                val = evaluate(model, loss_fn, val_loader, metrics)
                logs.update({f"val_{key}": value for key, value in val.items()})
            logs["lr"] = float(optimizer.param_groups[0]["lr"])
            if scheduler is not None:
                if type(scheduler).__name__ == "ReduceLROnPlateau":
                    scheduler.step(logs.get("val_loss", logs["loss"]))
                else:
                    scheduler.step()
            history.append(logs)
            if verbose:
                log(_format_logs(epoch, epochs, logs, time.perf_counter() - start))
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs, model)
            if any(getattr(c, "stop_training", False) for c in callbacks):
                if verbose:
                    log(f"stopping early after epoch {epoch}")
                break
    finally:
        for callback in callbacks:
            callback.on_train_end(model)
    return history

