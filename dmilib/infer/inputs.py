"""What prediction reads and returns: :class:`InputImage`, :class:`Prediction`, the flag codes and shared limits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


NOISE_SEED = 0
"""Seed of the noise added to vector inputs when the run was trained with noise."""

SUPPORTED_EXTENSIONS = (".npy", ".ovf", ".omf", ".png", ".tif", ".tiff")

SCALAR_COMPONENTS = ("mx", "my", "mz")
"""Components a scalar (camera) image can show."""

FLAG_CODES = {
    "constant": "the image has no contrast (constant or all zero)",
    "saturated": "at least half of the pixels sit at the camera's full scale",
    "no_bubble": "no bubble found",
    "several_bubbles": "more than one bubble in the image",
    "edge": "the bubble touches the image edge or the model's window",
    "polarity": "a bright bubble was found and inverted to the training polarity",
    "off_centre": "the bubble cannot be centred as in the training images",
    "field_of_view": "the image is much larger than the model's field of view",
    "pixel_size": "the pixels are coarser than the model's",
    "bubble_size": "the bubble's size is outside the training range",
    "blur": "the bubble's edge width (optical blur) is outside the training range",
    "fields": "an applied field is outside the training range",
    "D_range": "the prediction is outside the trained D range",
    "no_interval": "no calibrated interval",
    "series_excluded": "images of a series left out",
}
"""Flag codes and what each means; a flag string is ``"code: reason"``."""

REFUSING_FLAGS = ("constant", "no_bubble", "several_bubbles")
"""Flags with which no D is returned."""

_CAMERA_EXTENSIONS = (".png", ".tif", ".tiff")

MAX_IMAGE_PIXELS = 8192 * 8192
"""Largest image read (pixels), and largest image a resampling may make: checked before any
allocation, so an oversized file or a pixel size in the wrong unit gets a message, not a
MemoryError (8192^2 float32 vector pixels are 0.75 GiB)."""


def _image_dims(shape) -> tuple[int, int]:
    """``(rows, cols)`` of an image array's shape: (3, H, W), (H, W, 3 or 4), (H, W) or anything else."""
    shape = tuple(int(n) for n in shape)
    if len(shape) == 3 and shape[0] == 3:
        return shape[1], shape[2]
    if len(shape) == 3 and shape[-1] in (3, 4):
        return shape[0], shape[1]
    if len(shape) < 2:
        return (shape[0] if shape else 1), 1
    return int(np.prod(shape[:-1])), shape[-1]


def _check_pixels(rows: int, cols: int, source: str, what: str, hint: str = "") -> None:
    pixels = int(rows) * int(cols)
    if pixels > MAX_IMAGE_PIXELS:
        gib = pixels * 3 * 4 / 2**30
        raise ValueError(f"{source}: {what} {rows} x {cols} pixels (about {gib:.3g} GiB as float32 vectors) is "
                         f"more than the limit of {MAX_IMAGE_PIXELS} pixels (8192 x 8192){hint}")


def _flag(code: str, reason: str) -> str:
    if code not in FLAG_CODES:
        raise ValueError(f"unknown flag code {code!r}")
    return f"{code}: {reason}"


def _constant_flag(array: np.ndarray, flags: list, what: str) -> None:
    if array.size and float(np.ptp(array)) == 0.0:
        value = float(array.flat[0])
        state = "all zero" if value == 0 else f"constant ({what} = {value:g} everywhere)"
        flags.append(_flag("constant", f"the image is {state}: it has no contrast, so it shows no bubble"))


def flag_codes(flags) -> list[str]:
    """The codes of flag strings ``"code: reason"``, in order."""
    return [str(f).split(":", 1)[0] for f in flags]


@dataclass
class InputImage:
    """An image read from a file, before it is fitted to a model.

    Attributes
    ----------
    array : numpy.ndarray, float32
        ``(3, H, W)`` reduced magnetization (``kind == "vector"``) or ``(H, W)`` component in
        units of Ms, in [-1, 1] (``kind == "scalar"``).
    kind : {"vector", "scalar"}
    pixel_size_m : float
        Square pixel (cell) size in metres.
    component : str or None
        ``"mx"``, ``"my"`` or ``"mz"`` for a scalar image; None for a vector one.
    source : str
        The file read (with ``[page i]`` for a page of a multi-page TIFF).
    notes : list of str
        How the file was interpreted (normalization, colour handling, ignored arguments).
    flags : list of str
        Problems found while reading (``constant``, ``saturated``); see :data:`FLAG_CODES`.
    """

    array: np.ndarray
    kind: str
    pixel_size_m: float
    component: str | None
    source: str
    notes: list = field(default_factory=list)
    flags: list = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` in pixels."""
        return tuple(int(n) for n in self.array.shape[-2:])


@dataclass
class Prediction:
    """D inferred from one image (or one field series) by an ensemble of models.

    Attributes
    ----------
    path : str
        The image file (for a series: the files, joined by ``" + "``).
    D_J_per_m2 : float or None
        Ensemble mean over the models (seeds), in J/m^2; None when a flag of
        :data:`REFUSING_FLAGS` was raised.
    interval_90_J_per_m2 : list of float or None
        ``[low, high]``: the split-conformal 90 % interval (module docstring); None without
        calibration or without D.
    seed_spread_J_per_m2 : float or None
        Standard deviation of ``per_model_J_per_m2`` (ddof = 1; 0 for one model): the
        models' disagreement, not an error bar.
    per_model_J_per_m2 : list of float
        One prediction per model, in the order of ``seeds`` (for a series: of the series mean).
    seeds : list of int
    input_pixel_size_m : float
        Pixel size of the image as read.
    model_input_pixel_size_m : float
        Pixel size of the model's input (run.json ``input_pixel_size_m``).
    kind : {"vector", "scalar"}
    component : str
        The model's component (``mz``, ``all``, ...).
    run : str
        The run folder.
    notes : list of str
        What was done to the image.
    flags : list of str
        ``"code: reason"`` for everything the model has not seen (:data:`FLAG_CODES`).
    fields_mT : dict or None
        ``{"Hz_mT": ..., "Hx_mT": ...}`` given with the image (lists for a series).
    bubble : dict or None
        The bubble in the model's view: ``equivalent_radius_m``, ``edge_width_m``,
        ``centroid_offset_m``, and the polarity found.
    members : list of dict or None
        For a series: the per-image predictions (``to_dict`` of each).
    """

    path: str
    D_J_per_m2: float | None
    interval_90_J_per_m2: list | None
    seed_spread_J_per_m2: float | None
    per_model_J_per_m2: list
    seeds: list
    input_pixel_size_m: float
    model_input_pixel_size_m: float
    kind: str
    component: str
    run: str
    notes: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    fields_mT: dict | None = None
    bubble: dict | None = None
    members: list | None = None

    @property
    def n_models(self) -> int:
        return len(self.seeds)

    @property
    def D_mJ_per_m2(self) -> float | None:
        return None if self.D_J_per_m2 is None else self.D_J_per_m2 * 1e3

    @property
    def interval_90_mJ_per_m2(self) -> list | None:
        return None if self.interval_90_J_per_m2 is None else [v * 1e3 for v in self.interval_90_J_per_m2]

    def to_dict(self) -> dict:
        """JSON-safe dict of the fields, plus ``D_mJ_per_m2``, ``interval_90_mJ_per_m2`` and ``n_models``."""
        return dict(asdict(self), D_mJ_per_m2=self.D_mJ_per_m2, interval_90_mJ_per_m2=self.interval_90_mJ_per_m2,
                    n_models=self.n_models)


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------
