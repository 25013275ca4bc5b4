"""A CNN that reads the applied fields beside the image: ``dmilib train --fields``.

From ``m_z`` alone the bubble's size confounds D with the applied field (a stronger
``|Hz|`` and a stronger D both grow the bubble), yet an experiment knows the field of every
image. This model is the paper's CNN (:mod:`dmilib.learn.model`, unchanged and still used
by the study's chapters) with the scaled fields joined to its pooled features::

    image (H, W, C) -> Normalization -> [Conv2D -> MaxPooling2D] x 3 -> GlobalAveragePooling2D --+
    fields (2,) = (mu0 Hz, mu0 Hx) in mT -> Normalization (training mean and variance) ----------+
        -> Concatenate -> Dense(64, ReLU) -> Dense(1, linear)

Same filters, kernels, optimizer and loss as the paper's CNN; it predicts D in mJ/m^2.
A field that is constant over the training set (the quick preset's ``Hx``) gets unit
variance (1 mT^2) instead of zero, so that a different value at prediction is not divided
by ``sqrt(epsilon)``; such a value is flagged by :mod:`dmilib.infer` anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from .model import DEFAULT_LEARNING_RATE, DENSE_UNITS, STEPS_PER_EXECUTION, image_features

FIELD_NAMES = ("Hz_mT", "Hx_mT")
"""The field inputs, in order, in millitesla (mu0 H)."""

FIELD_SCALE = 1e3
"""Field input per tesla (the model reads mT)."""

MIN_FIELD_VARIANCE_MT2 = 1e-6
"""Below this training variance (mT^2) a field counts as constant and gets unit variance."""


def field_statistics(fields_mT: np.ndarray) -> tuple[list[float], list[float]]:
    """Mean and variance (mT, mT^2) of the training fields ``(N, 2)``; constant fields get variance 1."""
    array = np.asarray(fields_mT, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != len(FIELD_NAMES) or array.shape[0] == 0:
        raise ValueError(f"fields_mT must have shape (N, {len(FIELD_NAMES)}) with N >= 1, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("fields_mT must be finite")
    variance = array.var(axis=0)
    variance = np.where(variance < MIN_FIELD_VARIANCE_MT2, 1.0, variance)
    return [float(v) for v in array.mean(axis=0)], [float(v) for v in variance]


def build_field_cnn(input_shape: Sequence[int], normalization_mean: Sequence[float],
                    normalization_variance: Sequence[float], field_mean: Sequence[float],
                    field_variance: Sequence[float], *, learning_rate: float = DEFAULT_LEARNING_RATE) -> keras.Model:
    """Build and compile the field-conditioned CNN (see the module docstring).

    Parameters
    ----------
    input_shape : sequence of int
        ``(H, W, C)``, H and W at least 8.
    normalization_mean, normalization_variance : sequence of float
        Per image channel, from the training images.
    field_mean, field_variance : sequence of float
        Per field (``Hz_mT``, ``Hx_mT``), from :func:`field_statistics` of the training fields.
    learning_rate : float

    Returns
    -------
    keras.Model
        Functional model named ``"dmi_field_cnn"`` with inputs ``image`` and ``fields``.
    """
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 3 or min(shape) < 1 or shape[0] < 8 or shape[1] < 8:
        raise ValueError(f"input_shape must be (H, W, C) with H, W >= 8, got {tuple(input_shape)}")
    mean = [float(v) for v in np.ravel(normalization_mean)]
    variance = [float(v) for v in np.ravel(normalization_variance)]
    if len(mean) != shape[2] or len(variance) != shape[2]:
        raise ValueError(f"normalization_mean and normalization_variance need one value per channel ({shape[2]})")
    f_mean = [float(v) for v in np.ravel(field_mean)]
    f_variance = [float(v) for v in np.ravel(field_variance)]
    if len(f_mean) != len(FIELD_NAMES) or len(f_variance) != len(FIELD_NAMES) or min(f_variance) <= 0 \
            or not np.all(np.isfinite(f_mean + f_variance)):
        raise ValueError(f"field_mean and field_variance need one finite value per field {FIELD_NAMES}, "
                         "variances > 0")
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")

    image = keras.Input(shape=shape, name="image")
    fields = keras.Input(shape=(len(FIELD_NAMES),), name="fields")
    features = image_features(image, mean, variance)
    scaled = keras.layers.Normalization(axis=-1, mean=f_mean, variance=f_variance, name="field_normalization")(fields)
    joined = keras.layers.Concatenate(name="features_and_fields")([features, scaled])
    hidden = keras.layers.Dense(DENSE_UNITS, activation="relu", name="dense_hidden")(joined)
    outputs = keras.layers.Dense(1, activation="linear", name="prediction")(hidden)
    model = keras.Model({"image": image, "fields": fields}, outputs, name="dmi_field_cnn")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mean_squared_error",
                  metrics=["mean_absolute_error"], steps_per_execution=STEPS_PER_EXECUTION)
    return model


def _check_pair(images, fields_mT) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(images, dtype=np.float32)
    f = np.asarray(fields_mT, dtype=np.float32)
    if x.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C), got {x.shape}")
    if f.shape != (x.shape[0], len(FIELD_NAMES)):
        raise ValueError(f"fields_mT must have shape (N, {len(FIELD_NAMES)}) = ({x.shape[0]}, 2) "
                         f"(mu0 Hz, mu0 Hx in mT per image), got {f.shape}")
    if not np.isfinite(f).all():
        raise ValueError("fields_mT must be finite")
    return x, f


def predict_field_cnn(model: keras.Model, images: np.ndarray, fields_mT: np.ndarray,
                      batch_size: int = 64) -> np.ndarray:
    """Model outputs (D in mJ/m^2) for ``images`` ``(N, H, W, C)`` and their fields ``(N, 2)`` in mT."""
    x, f = _check_pair(images, fields_mT)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    outputs = [keras.ops.convert_to_numpy(model({"image": x[s:s + batch_size], "fields": f[s:s + batch_size]},
                                                training=False)).reshape(-1)
               for s in range(0, x.shape[0], batch_size)]
    return np.concatenate(outputs).astype(np.float64) if outputs else np.zeros(0)


class _FieldBatches(keras.utils.PyDataset):
    """All epochs' shuffled mini-batches as one Keras epoch (as :func:`dmilib.learn.model.fit_cnn`)."""

    def __init__(self, images, fields, labels, batch_size: int, epochs: int, seed: int):
        super().__init__()
        generator = np.random.default_rng(seed)
        count = images.shape[0]
        self._batches = [order[start:start + batch_size] for _ in range(epochs)
                         for order in [generator.permutation(count)] for start in range(0, count, batch_size)]
        self._images, self._fields, self._labels = images, fields, labels

    def __len__(self) -> int:
        return len(self._batches)

    def __getitem__(self, index: int):
        batch = self._batches[index]
        return {"image": self._images[batch], "fields": self._fields[batch]}, self._labels[batch]


def fit_field_cnn(model: keras.Model, images: np.ndarray, fields_mT: np.ndarray, labels: np.ndarray, *,
                  epochs: int, batch_size: int, seed: int) -> None:
    """Train for ``epochs`` shuffled passes (same batching as :func:`dmilib.learn.model.fit_cnn`)."""
    x, f = _check_pair(images, fields_mT)
    y = np.asarray(labels, dtype=np.float32).reshape(-1)
    if y.size != x.shape[0] or y.size == 0:
        raise ValueError(f"need one label per image and at least one image, got {x.shape[0]} images, {y.size} labels")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    model.fit(_FieldBatches(x, f, y, int(batch_size), int(epochs), int(seed)), epochs=1, verbose=0)
