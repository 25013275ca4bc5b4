"""The paper's CNN: architecture, parameter count, normalization, saving, and learning."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

# Keras backends convert tensors with np.array(x), which NumPy >= 2.3 flags on every save.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

from dmilib.learn.model import (_EpochBatches, build_cnn, fit_cnn, normalization_statistics,  # noqa: E402
                                parameter_count, predict)


def _discs(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """m_z-like images ``(N, size, size, 1)``: -1 inside a disc of radius 3 + 8 * label, +1 outside.

    The centre is jittered by up to 2 pixels and the edge is a tanh of width 1 pixel, so the
    label is encoded only in the disc's size.
    """
    coordinates = np.arange(size) + 0.5
    images = np.empty((labels.size, size, size, 1), np.float32)
    for index, label in enumerate(labels):
        cx, cy = size / 2 + rng.uniform(-2, 2, 2)
        rho = np.hypot(coordinates[None, :] - cx, coordinates[:, None] - cy)
        images[index, ..., 0] = np.tanh(rho - (3.0 + 8.0 * label))
    return images


def test_layer_sequence_matches_the_paper():
    model = build_cnn((32, 32, 3), [0.0] * 3, [1.0] * 3)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "Normalization", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Conv2D",
                     "MaxPooling2D", "GlobalAveragePooling2D", "Dense", "Dense"]
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [layer.filters for layer in convolutions] == [32, 64, 128]
    for layer in convolutions:
        assert tuple(layer.kernel_size) == (3, 3)
        assert layer.padding == "same"
        assert layer.activation.__name__ == "relu"
    for layer in model.layers:
        if isinstance(layer, keras.layers.MaxPooling2D):
            assert tuple(layer.pool_size) == (2, 2)
    hidden, output = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert (hidden.units, hidden.activation.__name__) == (64, "relu")
    assert (output.units, output.activation.__name__) == (1, "linear")
    assert model.output_shape == (None, 1)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(1e-3)
    assert model.loss in ("mean_squared_error", "mse")


def test_parameter_count_equals_the_hand_count():
    # conv 3x3xCinxCout + Cout biases; dense in*out + out.
    one_channel = (3 * 3 * 1 * 32 + 32) + (3 * 3 * 32 * 64 + 64) + (3 * 3 * 64 * 128 + 128) + (128 * 64 + 64) + (64 + 1)
    three_channels = one_channel + 3 * 3 * 2 * 32
    assert (one_channel, three_channels) == (100_993, 101_569)
    assert parameter_count(1) == one_channel and parameter_count(3) == three_channels
    for channels, expected in ((1, one_channel), (3, three_channels)):
        model = build_cnn((24, 24, channels), [0.0] * channels, [1.0] * channels)
        assert model.count_params() == expected
        assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == expected


def test_normalization_is_inside_the_model_and_uses_the_given_statistics():
    rng = np.random.default_rng(0)
    images = rng.normal([0.5, -2.0, 3.0], [0.1, 2.0, 0.5], size=(40, 16, 16, 3)).astype(np.float32)
    mean, variance = normalization_statistics(images)
    np.testing.assert_allclose(mean, images.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(variance, images.var(axis=(0, 1, 2)), rtol=1e-4)
    model = build_cnn(images.shape[1:], mean, variance)
    layer = model.get_layer("normalization")
    assert model.layers[1] is layer
    normalized = keras.ops.convert_to_numpy(layer(images))
    np.testing.assert_allclose(normalized.mean(axis=(0, 1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(normalized.std(axis=(0, 1, 2)), 1.0, atol=1e-3)


def test_save_and_load_with_safe_mode_give_identical_predictions(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.normal(size=(6, 16, 16, 2)).astype(np.float32)
    keras.utils.set_random_seed(3)
    model = build_cnn(images.shape[1:], [0.1, -0.2], [2.0, 0.5])
    model.fit(images, np.arange(6, dtype=np.float32), epochs=1, verbose=0)  # optimizer state saved too
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(predict(loaded, images), predict(model, images))
    assert loaded.get_layer("normalization").get_config()["mean"] == [0.1, -0.2]


@pytest.mark.parametrize("arguments, field", [
    (((16, 16), [0.0], [1.0]), "input_shape"),
    (((4, 16, 1), [0.0], [1.0]), "input_shape"),
    (((16, 16, 2), [0.0], [1.0]), "normalization_mean"),
    (((16, 16, 1), [0.0], [-1.0]), "normalization_variance"),
])
def test_invalid_arguments_raise_value_error(arguments, field):
    with pytest.raises(ValueError, match=field):
        build_cnn(*arguments)


def test_learns_disc_radius_far_better_than_the_mean_predictor():
    rng = np.random.default_rng(0)
    train_labels, test_labels = rng.uniform(0, 1, 192), rng.uniform(0, 1, 48)
    train_images, test_images = _discs(train_labels, 32, rng), _discs(test_labels, 32, rng)
    keras.utils.set_random_seed(0)
    model = build_cnn(train_images.shape[1:], *normalization_statistics(train_images))
    fit_cnn(model, train_images, train_labels, epochs=30, batch_size=16, seed=0)
    test_mae = np.mean(np.abs(predict(model, test_images) - test_labels))
    mean_predictor_mae = np.mean(np.abs(test_labels - train_labels.mean()))
    assert test_mae < 0.2 * mean_predictor_mae, (test_mae, mean_predictor_mae)


def test_epoch_batches_visit_every_image_once_per_epoch():
    images, labels = np.zeros((11, 8, 8, 1), np.float32), np.arange(11, dtype=np.float32)
    batches = _EpochBatches(images, labels, batch_size=4, epochs=3, seed=5)
    assert len(batches) == 3 * 3  # ceil(11 / 4) batches per epoch
    sizes = [batches[i][1].size for i in range(len(batches))]
    assert sizes == [4, 4, 3] * 3
    for epoch in range(3):
        seen = np.concatenate([batches[3 * epoch + i][1] for i in range(3)])
        assert sorted(seen) == list(range(11))
    # The orders differ between epochs (a fixed order would not be shuffling).
    assert not np.array_equal(batches[0][1], batches[3][1])


def test_fit_cnn_takes_one_optimizer_step_per_batch_and_checks_arguments():
    images, labels = np.random.default_rng(0).normal(size=(10, 8, 8, 1)).astype(np.float32), np.linspace(0, 1, 10)
    model = build_cnn(images.shape[1:], *normalization_statistics(images))
    fit_cnn(model, images, labels, epochs=2, batch_size=4, seed=0)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 2 * 3
    for kwargs, field in (({"epochs": 0, "batch_size": 4}, "epochs"), ({"epochs": 1, "batch_size": 0}, "batch_size")):
        with pytest.raises(ValueError, match=field):
            fit_cnn(model, images, labels, seed=0, **kwargs)
    with pytest.raises(ValueError, match="one label each"):
        fit_cnn(model, images, labels[:5], epochs=1, batch_size=4, seed=0)


def test_receptive_field_is_the_window_one_pooled_feature_depends_on():
    import keras

    from dmilib.learn.model import receptive_field_pixels

    size = 48
    model = build_cnn((size, size, 1), [0.0], [1.0])
    # All-positive kernels and zero biases: an impulse anywhere in a feature's window gives it
    # a positive value (ReLU and max pooling pass positives), and nothing outside does.
    for layer in model.layers:
        if layer.name.startswith("convolution_"):
            kernel, bias = layer.get_weights()
            layer.set_weights([np.ones_like(kernel), np.zeros_like(bias)])
    trunk = keras.Model(model.inputs, model.get_layer("max_pooling_3").output)
    impulses = np.zeros((size * size, size, size, 1), np.float32)
    impulses[np.arange(size * size), np.repeat(np.arange(size), size), np.tile(np.arange(size), size), 0] = 1.0
    features = trunk.predict(impulses, batch_size=256, verbose=0)  # (pixels, 6, 6, 128)
    seen = features[:, 3, 3, 0].reshape(size, size) > 0  # which input pixels reach an interior feature
    rows, columns = np.flatnonzero(seen.any(axis=1)), np.flatnonzero(seen.any(axis=0))
    assert rows.size == columns.size == receptive_field_pixels() == 22  # 1 -> 3 -> 4 -> 8 -> 10 -> 18 -> 22
    assert np.all(np.diff(rows) == 1) and seen[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1].all()
