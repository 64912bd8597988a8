"""nn.keras: the slides' Keras 1 code runs with one changed import, on NumPy arrays."""

import numpy as np
import pytest

import autograd_core as ag
import nn
from nn.keras import (
    SGD,
    Activation,
    Adam,
    Dense,
    Dropout,
    Flatten,
    History,
    Sequential,
    to_categorical,
)


def _blobs(n=200, d=8, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2, size=(k, d))
    y = rng.integers(0, k, n)
    x = (centres[y] + rng.normal(0, 0.5, size=(n, d))).astype(np.float32)
    return x, y


def _slides_model(d_in, hidden=16, k=3):
    # the slides' (004) model, layer for layer, only smaller
    model = Sequential()
    model.add(Dense(input_dim=d_in, output_dim=hidden))
    model.add(Activation("sigmoid"))
    model.add(Dense(output_dim=hidden))
    model.add(Activation("sigmoid"))
    model.add(Dense(output_dim=k))
    model.add(Activation("softmax"))
    return model


def test_the_slides_workflow_runs_and_learns():
    ag.manual_seed(0)
    x, y = _blobs()
    y1 = to_categorical(y, 3)
    model = _slides_model(8)
    model.compile(loss="categorical_crossentropy", optimizer=SGD(lr=0.5), metrics=["accuracy"])
    initial_loss, initial_acc = model.evaluate(x, y1)
    history = model.fit(x, y1, batch_size=20, nb_epoch=15, verbose=0,
                        validation_data=(x[:50], y1[:50]))
    assert isinstance(history, History)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 15 for v in history.history.values()) and history.epoch == list(range(15))
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    score = model.evaluate(x, y1)
    assert isinstance(score, list) and len(score) == 2
    assert model.metrics_names == ["loss", "accuracy"]
    assert score[0] < 0.5 * initial_loss and score[1] > 0.9 > initial_acc  # separable blobs
    probabilities = model.predict(x)
    assert probabilities.shape == (200, 3) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)  # softmax outputs
    assert np.array_equal(model.predict_classes(x), probabilities.argmax(axis=1))


def test_losses_follow_keras_on_probabilities():
    model = _slides_model(4, hidden=5, k=3)
    x = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    y = to_categorical([0, 1, 2, 0, 1, 2], 3)
    p = model.predict(x).astype(np.float64)
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    ce = model.evaluate(x, y)
    assert isinstance(ce, float)  # no metrics: the loss alone, as Keras
    np.testing.assert_allclose(ce, np.mean(-np.sum(y * np.log(p), axis=1)), rtol=1e-5)
    model2 = _slides_model(4, hidden=5, k=3)
    model2.compile(loss="mse", optimizer=SGD(lr=0.1), metrics=["acc"])
    p2 = model2.predict(x).astype(np.float64)
    loss, acc = model2.evaluate(x, y)
    np.testing.assert_allclose(loss, np.mean((p2 - y) ** 2), rtol=1e-5)
    assert acc == np.mean(p2.argmax(1) == y.argmax(1))
    history = model2.fit(x, y, batch_size=3, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "acc"}  # the metric's name as given


def test_keras_spellings_and_building_blocks():
    dense = Dense(units=7, input_dim=3)
    assert dense.units == 7 and Dense(output_dim=7).units == 7
    model = Sequential([Dense(4, input_shape=(3,), activation="relu"), Dropout(0.5),
                        Dense(2), Activation("tanh")])
    model.compile(loss="mse", optimizer=Adam(lr=0.01))
    assert model.count_params() == 3 * 4 + 4 + 4 * 2 + 2
    kernel, bias = model.get_weights()[:2]
    assert kernel.shape == (3, 4) and np.all(bias == 0)  # Keras layout and zero bias
    limit = np.sqrt(6 / (3 + 4))  # glorot_uniform, Keras's default
    assert np.abs(kernel).max() <= limit
    modules = list(model.module.modules())
    assert any(isinstance(m, nn.Dropout) and m.p == 0.5 for m in modules)
    assert any(isinstance(m, nn.ReLU) for m in modules)
    assert isinstance(model.optimizer, __import__("optim").Adam)
    assert model.optimizer.param_groups[0]["lr"] == 0.01
    # dropout acts in fit only: predict is deterministic
    x = np.ones((5, 3), dtype=np.float32)
    np.testing.assert_array_equal(model.predict(x), model.predict(x))
    # images through Flatten
    images = Sequential([Flatten(input_shape=(1, 2, 2)), Dense(3), Activation("softmax")])
    images.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(lr=0.1),
                   metrics=["accuracy"])
    h = images.fit(np.ones((4, 1, 2, 2), np.float32), np.array([0, 1, 2, 0]), epochs=1,
                   verbose=0, batch_size=2)
    assert len(h.history["loss"]) == 1


def test_to_categorical():
    out = to_categorical(np.array([0, 2, 1]))
    assert out.dtype == np.float32 and out.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert to_categorical([1], nb_classes=4).shape == (1, 4)  # Keras 1's np_utils spelling
    assert to_categorical(np.array([[1], [0]]), num_classes=2).tolist() == [[0, 1], [1, 0]]
    with pytest.raises(ValueError, match="num_classes=2"):
        to_categorical([0, 3], num_classes=2)
    with pytest.raises(ValueError, match="non-negative integer"):
        to_categorical([0.5, 1])


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="unknown activation 'swishy'"):
        Activation("swishy")
    with pytest.raises(ValueError, match="units"):
        Dense()
    with pytest.raises(ValueError, match="units=3 and output_dim=4"):
        Dense(3, output_dim=4)
    with pytest.raises(ValueError, match="rate"):
        Dropout(1.5)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        SGD(lr=-1)
    with pytest.raises(TypeError, match="unknown argument.*momentun"):
        SGD(lr=0.1, momentun=0.9)
    with pytest.raises(TypeError, match="expected a layer"):
        Sequential().add(nn.Linear(2, 2))
    model = _slides_model(4)
    with pytest.raises(RuntimeError, match="compile the model first"):
        model.fit(np.zeros((2, 4)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="unknown loss 'msee'"):
        model.compile(loss="msee", optimizer="sgd")
    with pytest.raises(ValueError, match="unknown optimizer 'adamw2'"):
        model.compile(loss="mse", optimizer="adamw2")
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        model.compile(loss="mse", optimizer="sgd", metrics=["f1"])
    model.compile(loss="categorical_crossentropy", optimizer=SGD(lr=0.1))
    x = np.zeros((4, 4), np.float32)
    with pytest.raises(ValueError, match="nb_epoch=2 and epochs=3"):
        model.fit(x, to_categorical([0, 1, 2, 0]), nb_epoch=2, epochs=3)
    with pytest.raises(ValueError, match="one-hot targets.*to_categorical"):
        model.fit(x, np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="x has 4 samples but y has 3"):
        model.fit(x, to_categorical([0, 1, 2]))
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(x, to_categorical([0, 1, 2, 0]), batch_size=0)
    with pytest.raises(ValueError, match="first layer needs input_dim"):
        Sequential([Dense(3), Activation("relu")]).compile(loss="mse", optimizer="sgd")
    with pytest.raises(RuntimeError, match="already built"):
        model.add(Dense(2))
