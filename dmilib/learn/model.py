"""The study's compact CNN regressor of the DMI strength.

Architecture (paper, "Machine learning implementation"), as a Keras 3 functional model::

    Input (H, W, C)
    -> Normalization (per channel; mean and variance of the TRAINING images, stored in the model)
    -> Conv2D(32, 3x3, ReLU, "same") -> MaxPooling2D(2x2)
    -> Conv2D(64, 3x3, ReLU, "same") -> MaxPooling2D(2x2)
    -> Conv2D(128, 3x3, ReLU, "same") -> MaxPooling2D(2x2)
    -> GlobalAveragePooling2D -> Dense(64, ReLU) -> Dense(1, linear)

compiled with Adam (learning rate 1e-3), mean squared error loss and mean absolute error
metric. The network predicts D in mJ/m^2: labels are ``D_J_per_m2 * LABEL_SCALE``.

Parameter count, for C input channels (weights + biases; the normalization constants are
part of the layer configuration, not weights)::

    convolution_1   3*3*C*32  + 32
    convolution_2   3*3*32*64 + 64   = 18 496
    convolution_3   3*3*64*128 + 128 = 73 856
    dense_hidden    128*64 + 64      =  8 256
    prediction      64*1 + 1         =     65

so 100 993 parameters for one channel and 101 569 for three (:func:`parameter_count`).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

LABEL_NAME = "D_J_per_m2"
"""Name of the dataset array holding the label."""

LABEL_SCALE = 1e3
"""Model output unit: ``prediction / LABEL_SCALE`` is D in J/m^2 (the model works in mJ/m^2)."""

FILTERS = (32, 64, 128)
"""Filters of the three convolution blocks."""

KERNEL_SIZE = (3, 3)
POOL_SIZE = (2, 2)
DENSE_UNITS = 64
DEFAULT_LEARNING_RATE = 1e-3
# Training steps per call into the backend: the same steps in the same order (weights are
# bit-identical to one step per call), but small images on a CPU spend a fourth of their
# time in the per-call overhead (22 x 22 pixels, batch 8: 4.3 s -> 3.3 s for 30 epochs).
STEPS_PER_EXECUTION = 16


def parameter_count(channels: int) -> int:
    """Trainable parameters of :func:`build_cnn` for ``channels`` input channels (hand count)."""
    count, previous = 0, int(channels)
    for filters in FILTERS:
        count += KERNEL_SIZE[0] * KERNEL_SIZE[1] * previous * filters + filters
        previous = filters
    return count + previous * DENSE_UNITS + DENSE_UNITS + DENSE_UNITS * 1 + 1


def receptive_field_pixels() -> int:
    """Input pixels across the window that one feature of the last pooling layer depends on.

    A convolution of kernel ``k`` widens the window by ``(k - 1) * jump`` and a pooling of
    size ``p`` by ``(p - 1) * jump``, where ``jump`` is the product of the strides before
    it (2 per pooling): for the three blocks ``1 -> 3 -> 4 -> 8 -> 10 -> 18 -> 22``. The
    global average then pools features that each see a 22 x 22 pixel window, so the pixel
    size decides whether one feature sees a wall, part of the bubble or all of it.
    """
    size, jump = 1, 1
    for _ in FILTERS:
        size += (KERNEL_SIZE[0] - 1) * jump
        size += (POOL_SIZE[0] - 1) * jump
        jump *= POOL_SIZE[0]
    return size


def normalization_statistics(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and variance of ``images`` ``(N, H, W, C)`` (float64 accumulation).

    Call it on the training images only, so no test information reaches the model.

    Returns
    -------
    mean, variance : list of float
        One value per channel, as plain floats (they go into the model's JSON config).
    """
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[0] == 0:
        raise ValueError(f"images must have shape (N, H, W, C) with N >= 1, got {array.shape}")
    mean = array.mean(axis=(0, 1, 2), dtype=np.float64)
    variance = array.var(axis=(0, 1, 2), dtype=np.float64)
    return [float(v) for v in mean], [float(v) for v in variance]


def image_features(image, mean, variance):
    """The paper's convolutional trunk on a Keras image input: normalization, 3 conv/pool blocks, global average.

    Shared by :func:`build_cnn` and :func:`dmilib.learn.field_model.build_field_cnn` (same
    layers, names and creation order, so a seed gives the same initial weights in both).
    """
    features = keras.layers.Normalization(axis=-1, mean=mean, variance=variance, name="normalization")(image)
    for block, filters in enumerate(FILTERS, start=1):
        features = keras.layers.Conv2D(filters, KERNEL_SIZE, activation="relu", padding="same",
                                       name=f"convolution_{block}")(features)
        features = keras.layers.MaxPooling2D(POOL_SIZE, name=f"max_pooling_{block}")(features)
    return keras.layers.GlobalAveragePooling2D(name="global_average_pooling")(features)


def build_cnn(input_shape: Sequence[int], normalization_mean: Sequence[float], normalization_variance: Sequence[float],
              *, learning_rate: float = DEFAULT_LEARNING_RATE) -> keras.Model:
    """Build and compile the paper's compact CNN.

    Parameters
    ----------
    input_shape : sequence of int
        ``(H, W, C)`` of the (degraded) images, channels last. H and W must be at least 8
        so the third pooling leaves at least one pixel.
    normalization_mean, normalization_variance : sequence of float
        One value per channel, computed on the training images
        (:func:`normalization_statistics`). Saved inside the model.
    learning_rate : float, optional
        Adam learning rate (paper: Keras' default 1e-3).

    Returns
    -------
    keras.Model
        Compiled functional model, named ``"dmi_cnn"``, predicting D in mJ/m^2.

    Raises
    ------
    ValueError
        If the shape, statistics or learning rate are invalid.
    """
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (H, W, C) of positive integers, got {tuple(input_shape)}")
    height, width, channels = shape
    if height < 8 or width < 8:
        raise ValueError(f"input_shape height and width must be >= 8 (three 2x2 poolings), got {height} x {width}")
    mean = [float(v) for v in np.ravel(normalization_mean)]
    variance = [float(v) for v in np.ravel(normalization_variance)]
    if len(mean) != channels or len(variance) != channels:
        raise ValueError(f"normalization_mean and normalization_variance need one value per channel ({channels}), "
                         f"got {len(mean)} and {len(variance)}")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(variance)) and min(variance) >= 0):
        raise ValueError("normalization_mean must be finite and normalization_variance finite and >= 0")
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")

    inputs = keras.Input(shape=shape, name="image")
    features = image_features(inputs, mean, variance)
    features = keras.layers.Dense(DENSE_UNITS, activation="relu", name="dense_hidden")(features)
    outputs = keras.layers.Dense(1, activation="linear", name="prediction")(features)
    model = keras.Model(inputs, outputs, name="dmi_cnn")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mean_squared_error",
                  metrics=["mean_absolute_error"], steps_per_execution=STEPS_PER_EXECUTION)
    return model


def predict(model: keras.Model, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Model outputs for ``images`` ``(N, H, W, C)`` as a float64 vector of length N.

    Calls the model eagerly batch by batch (``training=False``) instead of ``model.predict``,
    which traces a new function for every model and input size; works on every backend.
    """
    array = np.asarray(images, dtype=np.float32)
    if array.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C), got {array.shape}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    outputs = [keras.ops.convert_to_numpy(model(array[start:start + batch_size], training=False)).reshape(-1)
               for start in range(0, array.shape[0], batch_size)]
    return np.concatenate(outputs).astype(np.float64) if outputs else np.zeros(0)


class _EpochBatches(keras.utils.PyDataset):
    """The mini-batches of all epochs, in order, as one Keras epoch (see :func:`fit_cnn`)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int, epochs: int, seed: int):
        super().__init__()
        generator = np.random.default_rng(seed)
        count = images.shape[0]
        self._batches = [order[start:start + batch_size] for _ in range(epochs)
                         for order in [generator.permutation(count)] for start in range(0, count, batch_size)]
        self._images, self._labels = images, labels

    def __len__(self) -> int:
        return len(self._batches)

    def __getitem__(self, index: int):
        batch = self._batches[index]
        return self._images[batch], self._labels[batch]


def fit_cnn(model: keras.Model, images: np.ndarray, labels: np.ndarray, *, epochs: int, batch_size: int,
            seed: int) -> None:
    """Train a compiled model for ``epochs`` shuffled passes over ``images``.

    Every epoch visits each image once, in a new random order drawn from ``seed``, in
    mini-batches of ``batch_size`` (an epoch's last batch holds the remainder), as
    ``model.fit(images, labels, epochs=epochs, batch_size=batch_size, shuffle=True)`` does.
    The batches of all epochs are handed to Keras as a single epoch, because Keras spends
    about 50 ms of fixed work per epoch (a new data iterator, callbacks): with the quick
    profile's 36 images of 22 x 22 pixels that was half of the training time on a CPU.

    Parameters
    ----------
    model : keras.Model
        Compiled (:func:`build_cnn`).
    images : numpy.ndarray
        ``(N, H, W, C)`` float32 training images.
    labels : numpy.ndarray
        ``(N,)`` labels in the model's unit (D in mJ/m^2).
    epochs, batch_size : int
        At least 1 each.
    seed : int
        Seed of the per-epoch orders.

    Raises
    ------
    ValueError
        For mismatched images and labels, or epochs or batch_size below 1.
    """
    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.float32).reshape(-1)
    if images.ndim != 4 or images.shape[0] != labels.size or labels.size == 0:
        raise ValueError(f"images must be (N, H, W, C) with one label each and N >= 1, got images {images.shape} "
                         f"and {labels.size} labels")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    model.fit(_EpochBatches(images, labels, int(batch_size), int(epochs), int(seed)), epochs=1, verbose=0)
