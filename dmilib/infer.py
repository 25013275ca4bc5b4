"""Infer D from images of a magnetic bubble with a trained run (the paper's "future perspective").

The study trains its CNN on simulated bubbles and leaves, as a perspective (Fig. 1c),
applying the trained model to an experimental magneto-optical Kerr image. This module does
that step: it reads an image, finds the bubble in it, turns it into exactly the kind of
input a run's models were trained on, flags everything the models have never seen, and
returns the ensemble estimate of D with a calibrated 90 % interval.

Two kinds of input
------------------
* **vector** ``(3, H, W)``: a reduced magnetization ``(mx, my, mz)`` (an ``.ovf`` or
  ``.omf`` file, e.g. from mumax3, OOMMF or ``dmilib export``; or a ``.npy`` array). It goes
  through the run's own :class:`~dmilib.degrade.Degradation`: resampled to the training
  cell size (the run's dataset provenance ``datasets[0]["cell_size_m"][0]``) if its pixel
  size differs, cropped around the bubble or zero padded to the training grid, then
  degraded with ``training=False``. Noise, if the run was trained with it, is drawn with the
  fixed seed :data:`NOISE_SEED`, so a prediction is reproducible. A dataset sample exported
  to OVF thus reaches the model exactly as its test image did in training.
* **scalar** ``(H, W)``: one component seen by a camera (a Kerr image: ``.png``, ``.tif`` or
  ``.tiff``, or a 2-D ``.npy``). Camera files are normalized to the simulations' [-1, 1]
  contrast, with the grey levels of the two saturated states when they are known
  (``levels=(black, white)``, CLI ``--levels``), else with
  :func:`~dmilib.degrade.from_camera` (1st / 99th percentiles). Blur, noise and pixelation
  are skipped (the optics and the camera did them): the image is resampled to the model's
  input pixel size (run.json ``input_pixel_size_m``). Only a single-component model can take
  it, and its component must match the image's (polar Kerr sees ``mz``).

Finding the bubble
------------------
Before anything is cropped, :func:`dmilib.bubble.find_bubbles` locates the reversed domain
(polarity ``"dark"``, ``"bright"`` or ``"auto"``; connected regions by
:func:`scipy.ndimage.label`). A bright bubble is inverted to the training polarity (dark
bubble in a bright film). An image larger than the model's field of view is cropped
*around the bubble's centroid* (the window kept inside the image), not around the image
centre; a smaller one is zero padded (zero = the non-magnetic surroundings of the
simulated disk). The bubble measures of the model's view are then compared with those of
the training images, recorded in run.json ``training_images``.

Flags
-----
Every prediction carries ``flags``: strings ``"code: reason"``, empty when the image looks
like the training images. Codes (:data:`FLAG_CODES`): ``constant`` (no contrast, e.g. an
all-zero array), ``saturated`` (half the pixels at the camera's full scale), ``no_bubble``,
``several_bubbles``, ``edge`` (the bubble touches the image edge or the model's window),
``polarity`` (a bright bubble was found and inverted), ``off_centre`` (the bubble cannot be
centred like the training bubbles), ``field_of_view`` (an image more than twice the model's
field of view), ``pixel_size`` (pixels coarser than the model's), ``bubble_size`` and
``blur`` (equivalent radius or edge width outside the training range), ``fields`` (applied
fields outside the training range), ``D_range`` (prediction outside the trained D range),
``no_interval`` (no calibrated interval), and for series ``series_excluded``. With
``constant``, ``no_bubble`` or ``several_bubbles`` no D is given at all (``D_J_per_m2`` is
None): a number for an image without one bubble would mean nothing.

Uncertainty
-----------
``interval_90_J_per_m2`` is a split-conformal interval: the ensemble mean plus or minus the
calibrated half-width of run.json ``conformal`` (:mod:`dmilib.learn.conformal`; runs trained
with ``calibration_fraction > 0``), whose coverage was measured on test runs. Without it
the interval is None and the ``no_interval`` flag is raised. ``seed_spread_J_per_m2`` is the
standard deviation of the per-seed predictions: how much the models disagree, not an error
bar (on the quick data it is several times smaller than the error).

Fields and series
-----------------
A run trained with ``fields=True`` (``dmilib train --fields``) reads the applied
``mu0 Hz`` and ``mu0 Hx`` of each image beside it (``fields_mT``, CLI ``--Hz-mT``,
``--Hx-mT``) and refuses a prediction without them. :func:`predict_series` takes several
images of *one* bubble (files, or the pages of a multi-page TIFF) with their fields and
returns one D: the mean of the per-image ensemble means over the images that have a
usable bubble, with the conformal interval calibrated on series of that size
(run.json ``series``).

File formats (:func:`read_image`)
---------------------------------
``.npy``
    Loaded with ``allow_pickle=False`` (never unpickled). ``(3, H, W)`` is a vector
    magnetization, ``(H, W)`` a scalar image. A scalar float array with values in [-1, 1] is
    taken as the component in units of Ms as is (unless ``levels`` are given); an integer
    array, or a float array reaching beyond [-1, 1], is treated as camera counts. The pixel
    size must be given.
``.ovf`` / ``.omf``
    OVF 2.0 / 1.0 with one layer (``.omf`` is OOMMF's default extension for the same
    format); the pixel size is the header's cell size (square cells).
``.png``
    Read with Pillow: greyscale ``L`` (8 bit), ``I;16`` (16 bit), ``I``, ``F`` and ``1``.
    RGB(A) is accepted only when its three colour channels are identical; a truly coloured
    image is refused (a false-colour map is not linear in the Kerr signal).
``.tif`` / ``.tiff``
    Read with tifffile: one 2-D page (or RGB with identical channels); a multi-page file is
    a field series (:func:`read_series`). TIFF resolution tags are not trusted.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .cropping import centred_start

__all__ = [
    "NOISE_SEED",
    "SUPPORTED_EXTENSIONS",
    "SCALAR_COMPONENTS",
    "FLAG_CODES",
    "REFUSING_FLAGS",
    "InputImage",
    "Prediction",
    "read_image",
    "read_series",
    "prepare_inputs",
    "predict",
    "predict_images",
    "predict_series",
    "format_prediction",
    "flag_codes",
    "fields_array",
]

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
_OVF_EXTENSIONS = (".ovf", ".omf")

# Lengths above this are almost surely a unit mistake (nanometres passed as metres).
_MAX_PIXEL_M = 1e-4

# |m| above this in a vector input means it is not the reduced magnetization (e.g. A/m).
_MAX_NORM = 1.05

# Field of view of an image relative to the model's below which it cannot hold a bubble.
_MIN_FIELD_FRACTION = 0.5

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


# Tolerances of the comparisons with the training images (why: the training ranges are
# measured on a finite set, and a measure of a new image scatters a little around them).
_FIELD_OF_VIEW_RATIO = 2.0  # image field of view / model's above which it is flagged
_PIXEL_RATIO = 1.25  # image pixel / model pixel above which it is flagged
_RADIUS_TOLERANCE = 1.15  # factor around the trained bubble-radius range
_WIDTH_TOLERANCE = 1.5  # factor around the trained edge-width range
_OFFSET_TOLERANCE_PX = 2.0  # model pixels beyond the largest training centroid offset
_SATURATED_FRACTION = 0.5
_D_TOLERANCE = 0.01  # fraction of the trained D span
_FIELD_TOLERANCE_MT = 0.5  # at least, beyond the trained field range
_MAX_FIELD_MT = 1e4  # |mu0 H| above 10 T is a unit mistake


def _flag(code: str, reason: str) -> str:
    if code not in FLAG_CODES:
        raise ValueError(f"unknown flag code {code!r}")
    return f"{code}: {reason}"


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


def _check_pixel_size(value, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{source}: pixel_size_m must be a number in metres (e.g. 35e-9), got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{source}: pixel_size_m must be a finite number > 0 (metres, e.g. 35e-9), got {value!r}")
    if value > _MAX_PIXEL_M:
        raise ValueError(f"{source}: pixel_size_m = {value:g} m is larger than {_MAX_PIXEL_M:g} m; "
                         "give it in metres (e.g. 35e-9 for 35 nm)")
    return value


def _check_component(component, source: str) -> str:
    if component is None:
        raise ValueError(f"{source}: component is required for a scalar (single-component) image: one of "
                         f"{list(SCALAR_COMPONENTS)} (polar Kerr images show mz; CLI: --component)")
    if component not in SCALAR_COMPONENTS:
        raise ValueError(f"{source}: component must be one of {list(SCALAR_COMPONENTS)} for a scalar image, "
                         f"got {component!r}")
    return str(component)


def _require_pixel_size(pixel_size_m, source: str, what: str) -> float:
    if pixel_size_m is None:
        raise ValueError(f"{source}: pixel_size_m is required: {what} does not record its pixel size "
                         "(CLI: --pixel-size-nm)")
    return _check_pixel_size(pixel_size_m, source)


def _check_finite(array: np.ndarray, source: str) -> None:
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{source}: the image must hold real numbers, got dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = int(np.size(array) - np.isfinite(array).sum())
        raise ValueError(f"{source}: the image contains NaN or inf ({bad} value(s)); fill or crop them first")


def _vector(array: np.ndarray, source: str) -> np.ndarray:
    """Check a ``(3, H, W)`` magnetization; return float32."""
    _check_finite(array, source)
    if array.ndim != 3 or array.shape[0] != 3:
        if array.ndim == 3 and array.shape[-1] == 3:
            hint = "; it looks channels-last: transpose it to (3, H, W) with np.moveaxis(a, -1, 0)"
        elif array.ndim == 3:
            hint = (f" but it has {array.shape[0]} components (a vector magnetization has 3: mx, my, mz; "
                    "a single component is a 2-D (H, W) array)")
        else:
            hint = ""
        raise ValueError(f"{source}: a vector image must have shape (3, H, W), got {array.shape}{hint}")
    norm = float(np.sqrt((array.astype(np.float64) ** 2).sum(axis=0)).max()) if array.size else 0.0
    if norm > _MAX_NORM:
        raise ValueError(f"{source}: a vector image must be the reduced magnetization m = M / Ms (|m| <= 1), "
                         f"but max |m| = {norm:.4g}; divide by Ms")
    return array.astype(np.float32)


def _grey_from_colour(array: np.ndarray, source: str, notes: list) -> np.ndarray:
    """``(H, W, 3 or 4)`` -> ``(H, W)`` when the colour channels are identical, else refuse."""
    rgb = array[..., :3]
    if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])):
        raise ValueError(f"{source}: a colour image cannot be read as Kerr contrast (a false-colour map is not "
                         "linear in the signal); save the greyscale intensity (PNG mode L or I;16, or a 2-D TIFF)")
    notes.append("RGB image with identical channels read as greyscale")
    return rgb[..., 0]


def _read_png(path: Path, source: str, notes: list) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            _check_pixels(image.size[1], image.size[0], source, "the image has")
            image.load()
            mode = image.mode
            if mode == "1":
                image = image.convert("L")
            elif mode == "P":
                image = image.convert("RGBA")
            elif mode == "LA":
                image = image.getchannel("L")
            elif mode not in ("L", "I", "F", "RGB", "RGBA") and not mode.startswith("I;16"):
                image = image.convert("RGB")
            array = np.asarray(image)
    except Image.DecompressionBombError as error:
        raise ValueError(f"{source}: the image is more than the limit of {MAX_IMAGE_PIXELS} pixels (8192 x 8192): "
                         f"{error}") from error
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"{source}: not a readable PNG image ({error})") from error
    if array.ndim == 3:
        array = _grey_from_colour(array, source, notes)
    return array


def _read_tiff_pages(path: Path, source: str, notes: list) -> list[np.ndarray]:
    """The 2-D greyscale pages of a TIFF file (one for an ordinary image, several for a stack)."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            shape = tif.series[0].shape if tif.series else ()
            _check_pixels(*_image_dims(shape), source, "the image has")
            pages = [np.asarray(page.asarray()) for page in tif.pages]
    except (tifffile.TiffFileError, OSError, ValueError) as error:
        if isinstance(error, ValueError) and str(error).startswith(source):
            raise
        raise ValueError(f"{source}: not a readable TIFF image ({error})") from error
    out = []
    for number, array in enumerate(pages):
        where = source if len(pages) == 1 else f"{source}[page {number}]"
        if array.ndim == 3 and array.shape[-1] in (3, 4):
            array = _grey_from_colour(array, where, notes if number == 0 else [])
        if array.ndim != 2:
            raise ValueError(f"{where}: a TIFF page must be a 2-D greyscale image (H, W), got shape {array.shape}")
        out.append(array)
    if not out:
        raise ValueError(f"{source}: the TIFF file has no page")
    return out


def _read_tiff(path: Path, source: str, notes: list) -> np.ndarray:
    pages = _read_tiff_pages(path, source, notes)
    if len(pages) != 1:
        raise ValueError(f"{source}: a multi-page TIFF ({len(pages)} pages) is a field series of one bubble: read it "
                         "with read_series / predict_series (CLI: dmilib predict --series, with one --Hz-mT per page)")
    return pages[0]


def _check_levels(levels, source: str) -> tuple[float, float] | None:
    if levels is None:
        return None
    try:
        black, white = (float(v) for v in levels)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{source}: levels must be two numbers (black, white): the grey levels of the film "
                         f"saturated to m = -1 and m = +1, got {levels!r}") from error
    if not (math.isfinite(black) and math.isfinite(white) and white > black):
        raise ValueError(f"{source}: levels (black, white) must be finite with white > black (the grey levels of "
                         f"m = -1 and m = +1; CLI: --levels BLACK WHITE), got {levels!r}")
    return black, white


def _camera_scalar(array: np.ndarray, source: str, notes: list, flags: list, levels=None) -> np.ndarray:
    """Camera intensities -> [-1, 1] contrast, with the ``constant`` and ``saturated`` checks."""
    from .degrade import from_camera

    _check_finite(array, source)
    if array.size and float(np.ptp(array)) == 0.0:
        value = array.flat[0]
        what = "all zero" if value == 0 else f"constant (every pixel {value})"
        flags.append(_flag("constant", f"the image is {what}: it has no contrast, so it shows no bubble"))
        return np.zeros(array.shape, np.float32)
    if array.dtype in (np.uint8, np.uint16):
        full = np.iinfo(array.dtype).max
        fraction = float(np.mean(array == full))
        if fraction >= _SATURATED_FRACTION:
            flags.append(_flag("saturated", f"{fraction:.0%} of the pixels sit at the camera's full scale ({full}): "
                                            "the contrast is clipped; lower the exposure or gain"))
    levels = _check_levels(levels, source)
    if levels is not None:
        black, white = levels
        normalized = 2.0 * (array.astype(np.float64) - black) / (white - black) - 1.0
        notes.append(f"grey levels mapped with --levels: {black:g} -> m = -1, {white:g} -> m = +1 (values beyond "
                     "clipped)")
        return np.clip(normalized, -1.0, 1.0).astype(np.float32)
    try:
        normalized = from_camera(array)
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from error
    notes.append("camera intensity normalized to [-1, 1] with from_camera (1st / 99th percentiles); give the grey "
                 "levels of the saturated film with levels / --levels to fix the contrast instead")
    return normalized


def _constant_flag(array: np.ndarray, flags: list, what: str) -> None:
    if array.size and float(np.ptp(array)) == 0.0:
        value = float(array.flat[0])
        state = "all zero" if value == 0 else f"constant ({what} = {value:g} everywhere)"
        flags.append(_flag("constant", f"the image is {state}: it has no contrast, so it shows no bubble"))


def read_image(path, *, pixel_size_m: float | None = None, component: str | None = None,
               levels=None) -> InputImage:
    """Read an image of a bubble for :func:`predict` (formats: see the module docstring).

    Parameters
    ----------
    path : str or Path
        ``.npy``, ``.ovf``, ``.omf``, ``.png``, ``.tif`` or ``.tiff``.
    pixel_size_m : float, optional
        Pixel size in metres. Required for ``.npy``, ``.png`` and ``.tif`` files, which do not
        record it; an OVF header wins over it (a differing value is noted).
    component : {"mx", "my", "mz"}, optional
        The component a scalar image shows (required for scalar images; ignored, with a
        note, for vector ones).
    levels : (float, float), optional
        Grey levels ``(black, white)`` of the film saturated to ``m = -1`` and ``m = +1``:
        a camera image is mapped linearly with them (values beyond clipped) instead of
        with its percentiles.

    Returns
    -------
    InputImage
        With ``flags`` ``constant`` (no contrast) or ``saturated`` (clipped camera) when
        they apply.

    Raises
    ------
    ValueError
        Naming the file and the problem: missing file, unknown extension, NaN or inf,
        a component count other than 3 for a vector or 1 for a scalar image, a scalar
        image without ``component``, a missing or non-positive ``pixel_size_m``, a colour
        image, an OVF file with several layers or non-square cells, bad ``levels``, a
        multi-page TIFF (use :func:`read_series`).
    """
    images = _read(path, pixel_size_m=pixel_size_m, component=component, levels=levels, series=False)
    return images[0]


def read_series(path, *, pixel_size_m: float | None = None, component: str | None = None,
                levels=None) -> list[InputImage]:
    """The pages of a multi-page TIFF (a field series of one bubble), or ``[read_image(path)]`` for other files."""
    return _read(path, pixel_size_m=pixel_size_m, component=component, levels=levels, series=True)


def _read(path, *, pixel_size_m, component, levels, series: bool) -> list[InputImage]:
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise ValueError(f"{source}: unsupported file type {path.suffix or '(no extension)'!r}; "
                         f"supported: {', '.join(SUPPORTED_EXTENSIONS)}")
    if not path.is_file():
        raise ValueError(f"image file {source} does not exist")
    notes: list[str] = []
    flags: list[str] = []

    if suffix in _OVF_EXTENSIONS:
        from .dataset.ovf import read_ovf

        try:
            data = read_ovf(path)
        except (ValueError, OSError) as error:
            raise ValueError(f"{source}: {error}") from error
        nz = data.m.shape[1]
        if nz != 1:
            raise ValueError(f"{source}: the OVF file has {nz} layers; give a single-layer (2-D) field")
        dx, dy = float(data.cell_size_m[0]), float(data.cell_size_m[1])
        if not math.isclose(dx, dy, rel_tol=1e-6):
            raise ValueError(f"{source}: cells must be square, the OVF header gives dx = {dx:g} m, dy = {dy:g} m")
        header_pixel = _check_pixel_size(dx, source)
        if pixel_size_m is not None and not math.isclose(float(pixel_size_m), header_pixel, rel_tol=1e-6):
            notes.append(f"pixel size {float(pixel_size_m) * 1e9:.4g} nm given, but the OVF header's "
                         f"{header_pixel * 1e9:.4g} nm is used")
        if component is not None:
            notes.append(f"component {component!r} ignored: a vector image holds all three components")
        m = _vector(data.layer(0), source)
        _constant_flag(m[2], flags, "m_z")
        return [InputImage(m, "vector", header_pixel, None, source, notes, flags)]

    if suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False, mmap_mode="r")
            if isinstance(array, np.ndarray):
                _check_pixels(*_image_dims(array.shape), source, "the array has")
                array = np.array(array)
        except ValueError as error:
            if str(error).startswith(source):
                raise
            raise ValueError(f"{source}: cannot read the array without unpickling it (object arrays are refused): "
                             f"{error}") from error
        except OSError as error:
            raise ValueError(f"{source}: not a readable .npy file ({error})") from error
        if not isinstance(array, np.ndarray):
            raise ValueError(f"{source}: expected one array, got {type(array).__name__}")
        pixel = _require_pixel_size(pixel_size_m, source, "a .npy file")
        if array.ndim == 2:
            component = _check_component(component, source)
            _check_finite(array, source)
            if levels is None and array.dtype.kind == "f" and float(np.abs(array).max(initial=0.0)) <= 1.0 + 1e-6:
                notes.append("scalar .npy values in [-1, 1] taken as the component in units of Ms")
                scalar = np.clip(array, -1.0, 1.0).astype(np.float32)
                _constant_flag(scalar, flags, component)
            else:
                scalar = _camera_scalar(array, source, notes, flags, levels)
            return [InputImage(scalar, "scalar", pixel, component, source, notes, flags)]
        if array.ndim != 3:
            raise ValueError(f"{source}: a .npy image must be (3, H, W) (vector m) or (H, W) (one component), "
                             f"got shape {array.shape}")
        if component is not None:
            notes.append(f"component {component!r} ignored: a vector image holds all three components")
        m = _vector(array, source)
        _constant_flag(m[2], flags, "m_z")
        return [InputImage(m, "vector", pixel, None, source, notes, flags)]

    # Camera images.
    pixel = _require_pixel_size(pixel_size_m, source, f"a {suffix[1:].upper()} file")
    component = _check_component(component, source)
    if suffix == ".png":
        pages = [_read_png(path, source, notes)]
    else:
        pages = _read_tiff_pages(path, source, notes) if series else [_read_tiff(path, source, notes)]
    images = []
    for number, page in enumerate(pages):
        where = source if len(pages) == 1 else f"{source}[page {number}]"
        page_notes, page_flags = list(notes), []
        scalar = _camera_scalar(page, where, page_notes, page_flags, levels)
        images.append(InputImage(scalar, "scalar", pixel, component, where, page_notes, page_flags))
    return images


# --------------------------------------------------------------------------------------
# Fitting an image to a model
# --------------------------------------------------------------------------------------


def _fit(array: np.ndarray, shape: tuple[int, int], centre: tuple[float, float] | None = None) -> np.ndarray:
    """Crop or zero pad the last two axes of ``array`` to ``shape``.

    Cropping keeps the centred window (:func:`dmilib.cropping.centred_start`, the rule of
    :func:`dmilib.degrade.pixelate`) unless ``centre`` (row, column in pixels, e.g. the
    bubble's centroid) lies more than :func:`_recentre_tolerance` pixels from that window's
    centre; then the window is centred on ``centre``, shifted as needed to stay inside the
    image. The tolerance keeps a sub-pixel jitter of the centroid from moving the window.
    Padding adds ``(h - H) // 2`` zero rows on top and the rest below; likewise for columns.
    """
    out = array
    for number, (axis, target) in enumerate(((-2, shape[0]), (-1, shape[1]))):
        size = out.shape[axis]
        if size > target:
            start = centred_start(size, target)
            if centre is not None:
                wanted = centre[number] - (target - 1) / 2
                if abs(wanted - start) > _recentre_tolerance(target):
                    start = min(max(int(round(wanted)), 0), size - target)
            out = np.take(out, np.arange(start, start + target), axis=axis)
        elif size < target:
            before = -centred_start(size, target)
            widths = [(0, 0)] * out.ndim
            widths[axis] = (before, target - size - before)
            out = np.pad(out, widths, mode="constant", constant_values=0.0)
    return out


def _recentre_tolerance(target: int) -> float:
    """Pixels the bubble may sit off the centred window's centre before the window follows it."""
    return max(1.0, 0.05 * target)


def _training_cell_size_m(run) -> float:
    """Cell size of the simulations the run was trained on (dataset provenance)."""
    datasets = run.info.get("datasets") or []
    try:
        return float(datasets[0]["cell_size_m"][0])
    except (IndexError, KeyError, TypeError, ValueError):
        pass
    degradation = run.degradation
    if degradation.pixel_size_m is None and "input_pixel_size_m" in run.info:
        return float(run.info["input_pixel_size_m"]) / degradation.pixelation
    raise ValueError(f"{run.path}: run.json lacks datasets[0].cell_size_m, the training cell size needed to "
                     "prepare a vector image")


def _training_grid(run) -> tuple[int, int] | None:
    datasets = run.info.get("datasets") or []
    try:
        shape = tuple(int(n) for n in datasets[0]["shape"])
    except (IndexError, KeyError, TypeError, ValueError):
        return None
    return shape if len(shape) == 2 else None


def _model_pixel_size_m(run) -> float:
    value = run.info.get("input_pixel_size_m")
    if value is None:
        raise ValueError(f"{run.path}: run.json lacks input_pixel_size_m")
    return float(value)


def _nm(value_m: float) -> str:
    return f"{value_m * 1e9:.4g}"


def _span_nm(span) -> str:
    return f"{_nm(span[0])}-{_nm(span[1])} nm"


def _resampled(array: np.ndarray, pixel_m: float, target_m: float, notes: list[str], what: str,
               target: str, source: str = "image") -> np.ndarray:
    """``array`` resampled from ``pixel_m`` to ``target_m`` pixels (unchanged if equal), with a note."""
    if math.isclose(pixel_m, target_m, rel_tol=1e-9):
        return array
    rows, cols = (math.ceil(n * pixel_m / target_m) for n in array.shape[-2:])
    _check_pixels(rows, cols, source, f"resampling the {what} from {_nm(pixel_m)} nm to {_nm(target_m)} "
                  "nm pixels would make", "; check the pixel size (--pixel-size-nm is in nanometres, pixel_size_m in "
                  "metres)")
    how = "area-averaged" if pixel_m < target_m else "interpolated"
    notes.append(f"{what} resampled ({how}) from {_nm(pixel_m)} nm to {target}")
    from .degrade import resample

    return resample(array, pixel_m, target_m)


def _polarity_flag(search, polarity: str, flags: list, vector: bool) -> None:
    if search.polarity == "bright" and polarity == "auto" and search.bubble is not None:
        what = ("m reversed (m -> -m): by time reversal this is the training state at reversed fields"
                if vector else "grey levels inverted")
        flags.append(_flag("polarity", f"the bubble is bright in a dark film, unlike the training bubbles (dark, "
                                       f"m_z = -1, in a bright film); {what}. If the camera's contrast is inverted "
                                       "this is right; if the bubble really has m_z = +1, its fields are reversed "
                                       "too (give -Hz, -Hx). Pass --polarity to state it"))


def _bubble_checks(search, view: np.ndarray, run, model_pixel: float, flags: list, notes: list) -> dict | None:
    """Flags of the bubble found in the whole image (``search``) and in the model's ``view``."""
    from .bubble import MIN_AREA_PX, MIN_DEPTH, find_bubbles

    height, width = view.shape
    fov = f"{_nm(height * model_pixel)} x {_nm(width * model_pixel)} nm"
    if not search.bubbles:
        flags.append(_flag("no_bubble", f"no bubble found: no {search.polarity} region of at least {MIN_AREA_PX} "
                                        f"pixels whose contrast reaches {MIN_DEPTH:g} of saturation "
                                        f"({search.polarity_rule}); no D is given"))
        return None
    if len(search.bubbles) > 1:
        where = ", ".join(f"({_nm(b.centroid_px[1] * search.pixel_size_m)}, "
                          f"{_nm(b.centroid_px[0] * search.pixel_size_m)})" for b in search.bubbles[:6])
        more = "" if len(search.bubbles) <= 6 else f" and {len(search.bubbles) - 6} more"
        flags.append(_flag("several_bubbles", f"{len(search.bubbles)} bubbles found, centroids at (x, y) = {where}"
                                              f"{more} nm from the top-left corner; the model was trained on one "
                                              f"bubble per image: crop each isolated bubble to about the model's "
                                              f"field of view ({fov}) and predict each; no D is given"))
    if search.bubble.touches_edge:
        flags.append(_flag("edge", "the bubble touches the image edge: it is cut off, so the model cannot see its "
                                   "size or shape"))
    seen = find_bubbles(view, model_pixel, "dark").bubble
    if seen is None:
        flags.append(_flag("no_bubble", "no bubble is left in the model's window after fitting the image to it; "
                                        "no D is given"))
        return None
    offset = math.hypot(seen.centroid_px[0] - (height - 1) / 2, seen.centroid_px[1] - (width - 1) / 2) * model_pixel
    bubble = {"polarity": search.polarity, "polarity_rule": search.polarity_rule, "n_bubbles": len(search.bubbles),
              "equivalent_radius_m": seen.equivalent_radius_m, "edge_width_m": seen.edge_width_m,
              "centroid_offset_m": offset}
    if seen.touches_edge and not search.bubble.touches_edge:
        flags.append(_flag("edge", f"the bubble reaches the edge of the model's {fov} window: it is larger than "
                                   "that window or could not be centred in it"))
    trained = (run.info.get("training_images") or {}).get("bubbles")
    if not trained or trained.get("equivalent_radius_m") is None:
        notes.append("run.json has no training_images bubble ranges (trained before dmilib recorded them): bubble "
                     "size, edge width and position are not compared with the training images")
        return bubble
    low, high = trained["equivalent_radius_m"]
    if not low / _RADIUS_TOLERANCE <= seen.equivalent_radius_m <= high * _RADIUS_TOLERANCE:
        flags.append(_flag("bubble_size", f"bubble radius {_nm(seen.equivalent_radius_m)} nm (equivalent disk, in "
                                          f"the model's view) is outside the training bubbles' "
                                          f"{_span_nm(trained['equivalent_radius_m'])}"))
    low, high = trained["edge_width_m"]
    if not low / _WIDTH_TOLERANCE <= seen.edge_width_m <= high * _WIDTH_TOLERANCE:
        sharper = seen.edge_width_m < low
        blur = float(run.degradation.blur_fwhm_m)
        flags.append(_flag("blur", f"the bubble's edge width {_nm(seen.edge_width_m)} nm is outside the training "
                                   f"images' {_span_nm(trained['edge_width_m'])}: the image is "
                                   f"{'sharper' if sharper else 'more blurred'} than what the model was trained on "
                                   f"(training optics FWHM {_nm(blur)} nm{'' if blur else ', i.e. no blur'})"))
    largest = trained["centroid_offset_m"][1] + _OFFSET_TOLERANCE_PX * model_pixel
    if offset > largest:
        flags.append(_flag("off_centre", f"the bubble's centroid is {_nm(offset)} nm from the centre of the model's "
                                         f"window (training bubbles: at most "
                                         f"{_nm(trained['centroid_offset_m'][1])} nm); the image does not reach far "
                                         "enough around the bubble to centre it"))
    return bubble


def _prepare(image: InputImage, run, notes: list, flags: list, polarity: str) -> tuple[np.ndarray, dict | None]:
    """The model input ``(1, H, W, C)`` and the bubble measures; appends notes and flags."""
    from .bubble import POLARITIES, find_bubbles
    from .degrade import COMPONENTS, Degradation

    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {list(POLARITIES)}, got {polarity!r}")
    height, width, channels = run.input_shape
    model_pixel = _model_pixel_size_m(run)
    degradation = run.degradation
    source = image.source

    # Field of view: an image far smaller than the model's cannot show a whole bubble.
    rows, cols = image.shape
    image_fov = (rows * image.pixel_size_m, cols * image.pixel_size_m)
    model_fov = (height * model_pixel, width * model_pixel)
    if any(have < _MIN_FIELD_FRACTION * need for have, need in zip(image_fov, model_fov)):
        raise ValueError(f"{source}: field of view {_nm(image_fov[0])} x {_nm(image_fov[1])} nm ({rows} x {cols} "
                         f"pixels of {_nm(image.pixel_size_m)} nm) is less than half the model's "
                         f"{_nm(model_fov[0])} x {_nm(model_fov[1])} nm ({height} x {width} pixels of "
                         f"{_nm(model_pixel)} nm): the image must show a whole bubble (check pixel_size_m)")
    ratio = max(have / need for have, need in zip(image_fov, model_fov))
    if ratio > _FIELD_OF_VIEW_RATIO:
        flags.append(_flag("field_of_view", f"the image's field of view {_nm(image_fov[0])} x {_nm(image_fov[1])} nm "
                                            f"is {ratio:.1f} x the model's {_nm(model_fov[0])} x {_nm(model_fov[1])} "
                                            "nm: only a window around the bubble is read, and the film reaches that "
                                            "window's edge where the training images show the disk's edge"))
    if image.pixel_size_m > _PIXEL_RATIO * model_pixel:
        flags.append(_flag("pixel_size", f"pixel size {_nm(image.pixel_size_m)} nm is "
                                         f"{image.pixel_size_m / model_pixel:.2g} x the model's {_nm(model_pixel)} "
                                         "nm: the image was interpolated and holds less detail than the training "
                                         "images"))
    if "constant" not in flag_codes(flags):  # an array made in memory was not checked on reading
        _constant_flag(np.asarray(image.array if image.kind == "scalar" else image.array[2]), flags,
                       "m_z" if image.kind == "vector" else str(image.component))
    grid = _training_grid(run) if image.kind == "vector" else None
    if grid is not None:
        cell = _training_cell_size_m(run)
        target_fov, target = (grid[0] * cell, grid[1] * cell), "training grid's"
    else:
        target_fov, target = model_fov, "model's"
    for have, need, name in ((image_fov[0], target_fov[0], "height"), (image_fov[1], target_fov[1], "width")):
        if have > need * (1 + 1e-6):
            notes.append(f"image {name} {_nm(have)} nm cropped to the {target} {_nm(need)} nm around the bubble")
        elif have < need * (1 - 1e-6):
            notes.append(f"image {name} {_nm(have)} nm zero-padded to the {target} {_nm(need)} nm (zero = "
                         "non-magnetic surroundings, as around the simulated disk; a real film is magnetic there)")

    if image.kind == "vector":
        cell = _training_cell_size_m(run)
        m = _resampled(np.asarray(image.array, np.float32), image.pixel_size_m, cell, notes,
                       "vector image", f"the training cell size {_nm(cell)} nm", source)
        search = find_bubbles(m[2], cell, polarity)
        # An image without a bubble is left as it is: there is no bubble to orient.
        if search.polarity == "bright" and (polarity == "bright" or search.bubble is not None):
            m = -m
        _polarity_flag(search, polarity, flags, vector=True)
        centre = search.bubble.centroid_px if search.bubble is not None else None
        if grid is not None:
            m = _fit(m, grid, centre)
        if degradation.noise_sigma > 0:
            notes.append(f"noise sigma = {degradation.noise_sigma:g} Ms added as in training, with the fixed "
                         f"seed {NOISE_SEED}")
        out = degradation.apply(m, cell, seed=NOISE_SEED, training=False)
        out = np.moveaxis(_fit(np.moveaxis(out, -1, 1), (height, width)), 1, -1)
        mz_view = Degradation.from_dict({**degradation.to_dict(), "component": "mz", "noise_sigma": 0.0,
                                         "noise_copies": 1})
        view = _fit(mz_view.apply(m, cell, training=False)[0, ..., 0], (height, width))
    elif image.kind == "scalar":
        model_component = degradation.component
        if len(COMPONENTS[model_component]) != 1:
            raise ValueError(f"{source}: a scalar ({image.component}) image needs a single-component model (trained "
                             f"with --component mx, my or mz); the model of {run.path} takes component "
                             f"{model_component!r} ({len(COMPONENTS[model_component])} channels)")
        if image.component != model_component:
            raise ValueError(f"{source}: component {image.component!r} does not match the model's component "
                             f"{model_component!r}")
        scalar = _resampled(np.asarray(image.array, np.float32), image.pixel_size_m, model_pixel, notes,
                            "camera image", f"the model's {_nm(model_pixel)} nm pixels", source)
        search = find_bubbles(scalar, model_pixel, polarity)
        # An image without a bubble is left as it is: there is no bubble to orient.
        if search.polarity == "bright" and (polarity == "bright" or search.bubble is not None):
            scalar = -scalar
        _polarity_flag(search, polarity, flags, vector=False)
        centre = search.bubble.centroid_px if search.bubble is not None else None
        if degradation.blur_fwhm_m > 0:
            notes.append(f"assumes the microscope's resolution is like the training blur (FWHM "
                         f"{_nm(degradation.blur_fwhm_m)} nm)")
        else:
            notes.append("sim-to-real: the model was trained on unblurred simulated magnetization; a Kerr image "
                         "is blurred by the optics (FWHM 300-500 nm)")
        if degradation.noise_sigma > 0:
            notes.append("no noise added: a camera image carries its own")
        out = _fit(scalar, (height, width), centre)[..., None]
        view = out[..., 0]
    else:
        raise ValueError(f"{source}: image kind must be 'vector' or 'scalar', got {image.kind!r}")

    out = np.asarray(out, np.float32).reshape(1, height, width, -1)
    if out.shape[-1] != channels:
        raise ValueError(f"{source}: prepared {out.shape[-1]} channel(s), the model takes {channels}")
    if "constant" in flag_codes(flags):
        flags.append(_flag("no_bubble", "an image without contrast shows no bubble; no D is given"))
        return out, None
    # Only m_z shows the bubble; a model of in-plane components on a scalar image has none to find.
    if image.kind == "scalar" and image.component != "mz":
        notes.append(f"no bubble checks: a {image.component} image does not show the bubble as a domain")
        return out, None
    return out, _bubble_checks(search, view, run, model_pixel, flags, notes)


def prepare_inputs(image: InputImage, run, notes: list | None = None, *, flags: list | None = None,
                   polarity: str = "auto") -> np.ndarray:
    """The model input ``(1, H, W, C)`` float32 for ``image`` (see the module docstring).

    Parameters
    ----------
    image : InputImage
        From :func:`read_image`.
    run : dmilib.learn.artifacts.LoadedRun
        The trained run (its ``run.json`` gives the degradation, cell size, input shape,
        input pixel size and the training-image ranges).
    notes : list, optional
        Receives one line per step worth reporting (resampling, cropping, padding, noise).
    flags : list, optional
        Receives the flags of the image (:data:`FLAG_CODES`).
    polarity : {"auto", "dark", "bright"}
        Which grey level is the bubble (:func:`dmilib.bubble.find_bubbles`).

    Raises
    ------
    ValueError
        If the image's field of view is below half the model's in either direction (it
        cannot hold a whole bubble); if a scalar image meets a multi-component model or a
        model of another component.
    """
    notes = [] if notes is None else notes
    flags = [] if flags is None else flags
    return _prepare(image, run, notes, flags, polarity)[0]


# --------------------------------------------------------------------------------------
# Prediction
# --------------------------------------------------------------------------------------


def _load(run_path):
    from .learn.artifacts import LoadedRun, load_run

    if isinstance(run_path, LoadedRun):
        return run_path
    try:
        return load_run(run_path)
    except ValueError:
        raise
    except Exception as error:  # Keras raises many types for a damaged archive; report one.
        raise ValueError(f"could not load the models of run {run_path}: {type(error).__name__}: {error}") from error


def _field_values(values, name: str, count: int) -> np.ndarray | None:
    if values is None:
        return None
    array = np.atleast_1d(np.asarray(values, dtype=object))
    try:
        numbers = np.array([float(v) for v in array.ravel()], np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numbers in mT, got {values!r}") from error
    if numbers.size == 1:
        numbers = np.repeat(numbers, count)
    if numbers.size != count:
        raise ValueError(f"{name} needs one value (for every image) or one per image ({count}), got {numbers.size}")
    if not np.isfinite(numbers).all() or np.abs(numbers).max(initial=0.0) > _MAX_FIELD_MT:
        raise ValueError(f"{name} must be finite values in mT (mu0 H, |value| <= {_MAX_FIELD_MT:g} mT), got "
                         f"{numbers.tolist()}")
    return numbers


def fields_array(Hz_mT, Hx_mT, count: int) -> np.ndarray | None:
    """``(count, 2)`` fields in mT from one value or one per image of each; None when both are None."""
    hz, hx = _field_values(Hz_mT, "Hz_mT", count), _field_values(Hx_mT, "Hx_mT", count)
    if hz is None and hx is None:
        return None
    if hz is None or hx is None:
        raise ValueError("give both fields, Hz_mT and Hx_mT (0 for a field not applied)")
    return np.stack([hz, hx], axis=1)


def _field_flags(run, fields: np.ndarray, flags: list) -> None:
    trained = run.info.get("training_images") or {}
    for number, name in enumerate(("Hz_mT", "Hx_mT")):
        span = trained.get(name)
        if span is None:
            continue
        tolerance = max(_FIELD_TOLERANCE_MT, 0.1 * (span[1] - span[0]))
        value = float(fields[number])
        if not span[0] - tolerance <= value <= span[1] + tolerance:
            flags.append(_flag("fields", f"mu0 {name[:2]} = {value:g} mT is outside the training range "
                                         f"[{span[0]:g}, {span[1]:g}] mT"))


def _half_width_mJ(run, size: int | None = None) -> tuple[float | None, str]:
    """Calibrated 90 % half-width in mJ/m^2 for one image (``size`` None) or a series, or None and why."""
    from .learn.conformal import DEFAULT_ALPHA, conformal_quantile

    conformal = run.info.get("conformal")
    if not conformal:
        return None, ("the run has no calibration runs (train with --calibration-fraction and --split grouped): "
                      "there is no measured interval, and the seed spread is not an error bar")
    if size is not None and size > 1:
        sizes = (run.info.get("series") or {}).get("sizes") or {}
        usable = [int(k) for k, entry in sizes.items() if int(k) <= size and entry.get("calibration_residuals_mJ_per_m2")]
        if not usable:
            return None, f"the run has no calibrated interval for a series of {size} images"
        chosen = max(usable)
        residuals = sizes[str(chosen)]["calibration_residuals_mJ_per_m2"]
        where = f"series of {chosen} images"
    else:
        residuals = conformal["calibration_residuals_mJ_per_m2"]
        where = "images"
    half = conformal_quantile(residuals, DEFAULT_ALPHA)
    if not math.isfinite(half):
        needed = math.ceil(round((1 - DEFAULT_ALPHA) / DEFAULT_ALPHA, 9))
        return None, (f"the calibration holds {len(residuals)} {where}, fewer than the {needed} a 90 % split-conformal "
                      "interval needs")
    return half, ""


def _D_range_flag(run, D_mJ: float, flags: list) -> None:
    span = (run.info.get("training_images") or {}).get("D_mJ_per_m2")
    if span is None:
        return
    tolerance = _D_TOLERANCE * (span[1] - span[0])
    if not span[0] - tolerance <= D_mJ <= span[1] + tolerance:
        flags.append(_flag("D_range", f"predicted D = {D_mJ:.3f} mJ/m² lies outside the trained range "
                                      f"[{span[0]:.3g}, {span[1]:.3g}] mJ/m²: the model does not extrapolate"))


def _check_fields_for(run, fields, count: int, notes_lists=None):
    if run.uses_fields and fields is None:
        raise ValueError(f"the model of {run.path} was trained with the applied fields as inputs: give mu0 Hz and "
                         "mu0 Hx of the image(s) in mT (CLI: --Hz-mT and --Hx-mT)")
    if fields is None:
        return None
    array = np.asarray(fields, np.float64)
    if array.shape != (count, 2):
        raise ValueError(f"fields_mT must have shape ({count}, 2): mu0 Hz and mu0 Hx in mT per image, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("fields_mT must be finite")
    return array


def predict_images(images: list, run, *, fields_mT=None, polarity: str = "auto") -> list[Prediction]:
    """Predictions for already-read :class:`InputImage` objects with a loaded run.

    Parameters
    ----------
    fields_mT : array_like, shape (N, 2), optional
        ``mu0 Hz, mu0 Hx`` in mT of each image; required by a run trained with fields,
        noted as ignored otherwise.
    polarity : {"auto", "dark", "bright"}
    """
    fields = _check_fields_for(run, fields_mT, len(images))
    predictions = []
    pixel = _model_pixel_size_m(run)
    seeds = [int(s) for s in run.seeds]
    for number, image in enumerate(images):
        notes, flags = list(image.notes), list(image.flags)
        x, bubble = _prepare(image, run, notes, flags, polarity)
        given = None
        if fields is not None:
            given = {"Hz_mT": float(fields[number, 0]), "Hx_mT": float(fields[number, 1])}
            if run.uses_fields:
                _field_flags(run, fields[number], flags)
            else:
                notes.append("fields ignored: this model reads the image only")
        common = dict(path=image.source, seeds=seeds, input_pixel_size_m=float(image.pixel_size_m),
                      model_input_pixel_size_m=pixel, kind=image.kind, component=str(run.degradation.component),
                      run=str(run.path), notes=notes, flags=flags, fields_mT=given, bubble=bubble)
        if any(code in REFUSING_FLAGS for code in flag_codes(flags)):
            predictions.append(Prediction(D_J_per_m2=None, interval_90_J_per_m2=None, seed_spread_J_per_m2=None,
                                          per_model_J_per_m2=[], **common))
            continue
        row = fields[number:number + 1] if (fields is not None and run.uses_fields) else None
        per_model = np.asarray(run.predict_J_per_m2(x, fields_mT=row)[:, 0], np.float64)
        mean = float(per_model.mean())
        spread = float(per_model.std(ddof=1)) if per_model.size > 1 else 0.0
        half, why = _half_width_mJ(run)
        interval = None if half is None else [mean - half * 1e-3, mean + half * 1e-3]
        if half is None:
            flags.append(_flag("no_interval", why))
        _D_range_flag(run, mean * 1e3, flags)
        predictions.append(Prediction(D_J_per_m2=mean, interval_90_J_per_m2=interval, seed_spread_J_per_m2=spread,
                                      per_model_J_per_m2=[float(v) for v in per_model], **common))
    return predictions


def predict_series(images: list, run, *, fields_mT=None, polarity: str = "auto") -> Prediction:
    """One D from several images of one bubble (a field series), with the stated aggregation rule.

    Rule: every image is predicted as by :func:`predict_images` (with its own fields when
    the model takes them); the series' D is the mean, over the images with a usable bubble,
    of their ensemble means (equivalently, per model the mean over images, then the mean
    over models). Images with a refusing flag (:data:`REFUSING_FLAGS`) are left out and
    flagged ``series_excluded``. The 90 % interval is the split-conformal one calibrated on
    series of the calibration runs (run.json ``series``) of the largest calibrated size not
    above the number of images used (a longer series than calibrated gets the interval of
    the longest calibrated one, which is wider than it needs to be).

    Returns
    -------
    Prediction
        ``path`` joins the sources with ``" + "``; ``members`` holds the per-image
        predictions; every member's flag appears as ``"code: source: reason"`` (their
        ``D_range`` and ``no_interval`` flags are replaced by the series' own).
    """
    images = list(images)
    if not images:
        raise ValueError("a series needs at least one image")
    members = predict_images(images, run, fields_mT=fields_mT, polarity=polarity)
    flags, notes = [], []
    for member in members:
        for flag in member.flags:
            code, reason = flag.split(": ", 1)
            if code not in ("D_range", "no_interval"):
                flags.append(f"{code}: {member.path}: {reason}")
    usable = [m for m in members if m.D_J_per_m2 is not None]
    if len(usable) < len(members):
        left_out = [m.path for m in members if m.D_J_per_m2 is None]
        flags.append(_flag("series_excluded", f"{len(left_out)} of {len(members)} images have no usable bubble and "
                                              f"were left out: {', '.join(left_out)}"))
    first = members[0]
    given = None
    if first.fields_mT is not None:
        given = {"Hz_mT": [m.fields_mT["Hz_mT"] for m in members], "Hx_mT": [m.fields_mT["Hx_mT"] for m in members]}
    common = dict(path=" + ".join(m.path for m in members), seeds=first.seeds,
                  input_pixel_size_m=first.input_pixel_size_m, model_input_pixel_size_m=first.model_input_pixel_size_m,
                  kind=first.kind, component=first.component, run=first.run, notes=notes, flags=flags,
                  fields_mT=given, bubble=None, members=[m.to_dict() for m in members])
    if not usable:
        return Prediction(D_J_per_m2=None, interval_90_J_per_m2=None, seed_spread_J_per_m2=None,
                          per_model_J_per_m2=[], **common)
    per_model = np.mean([m.per_model_J_per_m2 for m in usable], axis=0)
    mean = float(per_model.mean())
    notes.append(f"series of {len(usable)} image(s): D = mean of the per-image ensemble means")
    half, why = _half_width_mJ(run, len(usable))
    if half is None:
        flags.append(_flag("no_interval", why))
    _D_range_flag(run, mean * 1e3, flags)
    return Prediction(D_J_per_m2=mean, interval_90_J_per_m2=None if half is None else
                      [mean - half * 1e-3, mean + half * 1e-3],
                      seed_spread_J_per_m2=float(per_model.std(ddof=1)) if per_model.size > 1 else 0.0,
                      per_model_J_per_m2=[float(v) for v in per_model], **common)


def predict(paths, run_path, *, pixel_size_m: float | None = None, component: str | None = None,
            Hz_mT=None, Hx_mT=None, polarity: str = "auto", levels=None, series: bool = False) -> list[Prediction]:
    """Infer D from each image in ``paths`` (or one D from all of them as a series) with one trained run.

    Parameters
    ----------
    paths : str, Path or list of them
        Image files (:func:`read_image`); a multi-page TIFF counts as one image per page.
        All are read and checked before the run is loaded.
    run_path : str, Path or LoadedRun
        A run folder of ``dmilib train`` (loaded once, ``safe_mode=True``; never
        unpickled), or a run already loaded with :func:`dmilib.learn.artifacts.load_run`.
    pixel_size_m : float, optional
        Pixel size in metres for the files that do not record it (``.npy``, ``.png``, ``.tif``).
    component : {"mx", "my", "mz"}, optional
        Component shown by scalar (camera) images.
    Hz_mT, Hx_mT : float or sequence of float, optional
        Applied ``mu0 Hz`` and ``mu0 Hx`` in mT: one value for every image, or one per image.
        Required by a run trained with fields.
    polarity : {"auto", "dark", "bright"}
        Which grey level is the bubble.
    levels : (float, float), optional
        Camera grey levels of ``m = -1`` and ``m = +1`` (:func:`read_image`).
    series : bool
        Return one prediction for all images, taken as a field series of one bubble
        (:func:`predict_series`).

    Returns
    -------
    list of Prediction
        One per image, in order (one in all with ``series=True``).

    Raises
    ------
    ValueError
        For an unreadable or unsuitable image or run, a fields argument of the wrong
        length, or a run trained with fields called without them (the message names the
        file or the argument).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise ValueError("paths must name at least one image")
    images = [image for path in paths
              for image in read_series(path, pixel_size_m=pixel_size_m, component=component, levels=levels)]
    fields = fields_array(Hz_mT, Hx_mT, len(images))
    run = _load(run_path)
    if series:
        return [predict_series(images, run, fields_mT=fields, polarity=polarity)]
    return predict_images(images, run, fields_mT=fields, polarity=polarity)


def format_prediction(prediction: Prediction, *, flags: bool = True) -> str:
    """``"path  D = 0.620 mJ/m²  90% interval [0.512, 0.728] mJ/m²  (10 models)"``, then one line per flag.

    Without D: ``"path  no D (no_bubble)  (10 models)"``. Flag lines read ``"  flag: code: reason"``.
    """
    n = prediction.n_models
    models = f"({n} model{'s' if n != 1 else ''})"
    if prediction.D_J_per_m2 is None:
        refusing = [c for c in flag_codes(prediction.flags) if c in REFUSING_FLAGS or c == "series_excluded"]
        line = f"{prediction.path}  no D ({', '.join(dict.fromkeys(refusing)) or 'refused'})  {models}"
    else:
        interval = prediction.interval_90_mJ_per_m2
        shown = ("no calibrated interval" if interval is None
                 else f"90% interval [{interval[0]:.3f}, {interval[1]:.3f}] mJ/m²")
        line = f"{prediction.path}  D = {prediction.D_mJ_per_m2:.3f} mJ/m²  {shown}  {models}"
    if flags:
        line += "".join(f"\n  flag: {flag}" for flag in prediction.flags)
    return line
