"""Callbacks for :func:`nn.training.fit`: early stopping and checkpoints.

A callback sees the model after each epoch with that epoch's logs (``loss``,
``val_loss``, ``val_accuracy``, ...) and may set ``stop_training``.

>>> stopper = EarlyStopping(monitor="val_loss", patience=3)
>>> stopper.mode
'min'
"""

import math

import numpy as np

from autograd_core.tensor import Tensor

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint"]


class Callback:
    """Hooks called by :func:`fit`. Set ``self.stop_training = True`` to stop after the
    current epoch."""

    stop_training = False

    def on_train_begin(self, model):
        pass

    def on_epoch_end(self, epoch: int, logs: dict, model):
        pass

    def on_train_end(self, model):
        pass


def _improved(mode, value, best, min_delta):
    """Whether ``value`` beats ``best``. A NaN (a diverged or empty validation) never
    does: were it taken as the first best, every later comparison with it would be
    False, so training would stop early and restore the NaN epoch's weights."""
    if value is None or math.isnan(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _mode_for(monitor, mode):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if "acc" in monitor else "min"


def _snapshot(model) -> dict:
    return {k: np.array(v._data if isinstance(v, Tensor) else v, copy=True)
            for k, v in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs in a row.

    With ``patience=2`` and validation losses 1.0, 1.2, 1.1 training stops after the
    third epoch (two epochs without beating 1.0), as Keras does.

    With ``restore_best=True`` the weights of the best epoch are put back at the end,
    so the model you keep is the one that validated best. A NaN value never counts as
    an improvement (it counts as an epoch without one).
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best=True):
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.mode = _mode_for(monitor, mode)
        self.restore_best = restore_best

    def on_train_begin(self, model):
        self.best = None
        self.best_epoch = None
        self.best_state = None
        self.wait = 0
        self.stop_training = False
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs, model):
        if self.monitor not in logs:
            raise KeyError(
                f"EarlyStopping monitors {self.monitor!r}, which fit did not report; "
                f"available: {sorted(logs)} (val_* needs a val_loader)"
            )
        value = logs[self.monitor]
        if _improved(self.mode, value, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_state = _snapshot(model)
        else:
            self.wait += 1
            if self.wait >= self.patience:  # `patience` epochs in a row without improvement
                self.stop_training = True
                self.stopped_epoch = epoch

    def on_train_end(self, model):
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(self.best_state)


class ModelCheckpoint(Callback):
    """Save the model's state dict to ``path`` (``.npz`` via ``nn.save``) after each
    epoch, or only when ``monitor`` improved (``save_best_only=True``, the default; a
    NaN value is never an improvement)."""

    def __init__(self, path, monitor="val_loss", save_best_only=True, mode="auto"):
        self.path = path
        self.monitor = monitor
        self.save_best_only = save_best_only
        self.mode = _mode_for(monitor, mode)
        self.best = None
        self.saved_epochs = []

    def on_epoch_end(self, epoch, logs, model):
        from nn.serialization import save

        if self.save_best_only:
            if self.monitor not in logs:
                raise KeyError(f"ModelCheckpoint monitors {self.monitor!r}, which fit did not "
                               f"report; available: {sorted(logs)}")
            if not _improved(self.mode, logs[self.monitor], self.best, 0.0):
                return
            self.best = logs[self.monitor]
        save(model.state_dict(), self.path)
        self.saved_epochs.append(epoch)
