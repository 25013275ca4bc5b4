"""The field-conditioned CNN: structure, parameter count, use of the fields, save and load."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

from dmilib.learn.field_model import (build_field_cnn, field_statistics, fit_field_cnn,  # noqa: E402
                                      predict_field_cnn)
from dmilib.learn.model import parameter_count  # noqa: E402


def test_fields_join_the_pooled_features_before_the_dense_layer():
    model = build_field_cnn((16, 16, 1), [0.0], [1.0], [-8.0, 100.0], [2.0, 1.0])
    joined = model.get_layer("features_and_fields")
    assert joined.output.shape[-1] == 128 + 2
    # The paper's CNN plus the 2 x 64 weights from the fields into the hidden layer.
    assert model.count_params() == parameter_count(1) + 2 * 64  # normalization constants are not weights
    assert model.get_layer("dense_hidden").kernel.shape == (130, 64)


def test_constant_fields_get_unit_variance():
    mean, variance = field_statistics(np.array([[-6.0, 100.0], [-10.0, 100.0]]))
    assert mean == [-8.0, 100.0] and variance == [4.0, 1.0]
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        field_statistics(np.zeros((3, 3)))


def test_the_model_learns_a_label_carried_by_the_field_alone(tmp_path):
    """Identical images, label = field: only the field input can explain it."""
    rng = np.random.default_rng(0)
    hz = rng.uniform(-10, -6, 64)
    fields = np.column_stack([hz, np.full(64, 100.0)])
    images = np.ones((64, 8, 8, 1), np.float32)
    labels = (hz + 10) / 4  # 0 .. 1
    keras.utils.set_random_seed(0)
    mean, variance = field_statistics(fields)
    model = build_field_cnn((8, 8, 1), [1.0], [1.0], mean, variance, learning_rate=1e-2)
    fit_field_cnn(model, images, fields, labels, epochs=60, batch_size=16, seed=0)
    predictions = predict_field_cnn(model, images, fields)
    assert np.mean(np.abs(predictions - labels)) < 0.1 * np.mean(np.abs(labels - labels.mean()))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(predict_field_cnn(loaded, images, fields), predictions, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="fields_mT must have shape"):
        predict_field_cnn(model, images, fields[:, :1])
