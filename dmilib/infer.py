"""Infer D from one image of a magnetic bubble with a trained run (the paper's "future perspective").

The study trains its CNN on simulated bubbles and leaves, as a perspective (Fig. 1c),
applying the trained model to a single experimental magneto-optical Kerr image. This
module does that step: it reads an image, turns it into exactly the kind of input a run's
models were trained on, and returns the ensemble estimate of D with its spread over seeds.

Two kinds of input
------------------
* **vector** ``(3, H, W)``: a reduced magnetization ``(mx, my, mz)`` (an ``.ovf`` file, e.g.
  from mumax3, OOMMF or ``dmilib export``; or a ``.npy`` array). It goes through the run's
  own :class:`~dmilib.degrade.Degradation`: resampled to the training cell size (the run's
  dataset provenance ``datasets[0]["cell_size_m"][0]``) if its pixel size differs, centre
  cropped or zero padded to the training grid, then degraded with ``training=False``
  (component selection, pixelation, noise, Kerr blur and camera resampling, whatever the
  run used). Noise, if the run was trained with it, is drawn with the fixed seed
  :data:`NOISE_SEED`, so a prediction is reproducible. A dataset sample exported to OVF thus
  reaches the model exactly as its test image did in training.
* **scalar** ``(H, W)``: one component seen by a camera (a Kerr image: ``.png``, ``.tif`` or
  ``.tiff``, or a 2-D ``.npy``). Camera files are normalized to the simulations' [-1, 1]
  contrast with :func:`~dmilib.degrade.from_camera` (1st / 99th percentiles). The optics
  have already blurred the image and the camera has already added its noise and sampled
  it, so blur, noise and pixelation are skipped: the image is resampled directly to the
  model's input pixel size (run.json ``input_pixel_size_m``). Only a single-component model
  can take it, and its component (``mx``, ``my`` or ``mz``; polar Kerr sees ``mz``) must
  match the image's.

Either way the image is then centre cropped or zero padded to the model's ``input_shape``.
Zero is the non-magnetic surroundings of the simulated disk, which is what the training
images hold outside it. **Sim-to-real caveat**: a real film is magnetic beyond the field
of view (domains, other bubbles), so padding an experimental image with zeros, or cropping
a large one to the model's field of view around its centre, gives the network an edge it
never saw in a real sample; centre the bubble and crop the image to about the model's field
of view (``input_shape x input_pixel_size_m``) before predicting. The model also only knows
the materials, fields and disk size of its training set; a D outside the training range is
not extrapolated reliably.

File formats (:func:`read_image`)
---------------------------------
``.npy``
    Loaded with ``allow_pickle=False`` (never unpickled). ``(3, H, W)`` is a vector
    magnetization, ``(H, W)`` a scalar image. A scalar float array with values in [-1, 1] is
    taken as the component in units of Ms as is (e.g. from :func:`~dmilib.degrade.kerr_image`);
    an integer array, or a float array reaching beyond [-1, 1], is treated as camera counts and
    normalized with ``from_camera``. The pixel size must be given.
``.ovf``
    OVF 2.0 / 1.0 with one layer; the pixel size is the header's cell size (square cells).
``.png``
    Read with Pillow: greyscale ``L`` (8 bit), ``I;16`` (16 bit), ``I``, ``F`` and ``1``.
    **RGB(A) is accepted only when its three colour channels are identical** (a grey image
    saved as RGB) and is then read as that grey level; a truly coloured image is refused,
    because a false-colour map is not linear in the Kerr signal and a luminance conversion
    would distort the contrast. Alpha is ignored. The pixel size must be given.
``.tif`` / ``.tiff``
    Read with tifffile, one 2-D page (or RGB with identical channels, as for PNG). The pixel
    size must be given (TIFF resolution tags are not trusted).

Uncertainty
-----------
``uncertainty_J_per_m2`` is the standard deviation of the per-seed predictions (sample
standard deviation, ``ddof = 1``, as in the experiment summaries; 0 for a single model).
It measures how much models trained with different seeds disagree on this image, not the
error against the truth: add the run's test MAE (``results.csv``) for that.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "NOISE_SEED",
    "SUPPORTED_EXTENSIONS",
    "SCALAR_COMPONENTS",
    "InputImage",
    "Prediction",
    "read_image",
    "prepare_inputs",
    "predict",
    "predict_images",
    "format_prediction",
]

NOISE_SEED = 0
"""Seed of the noise added to vector inputs when the run was trained with noise."""

SUPPORTED_EXTENSIONS = (".npy", ".ovf", ".png", ".tif", ".tiff")

SCALAR_COMPONENTS = ("mx", "my", "mz")
"""Components a scalar (camera) image can show."""

_CAMERA_EXTENSIONS = (".png", ".tif", ".tiff")

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
        The file read.
    notes : list of str
        How the file was interpreted (normalization, colour handling, ignored arguments).
    """

    array: np.ndarray
    kind: str
    pixel_size_m: float
    component: str | None
    source: str
    notes: list = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` in pixels."""
        return tuple(int(n) for n in self.array.shape[-2:])


@dataclass
class Prediction:
    """D inferred from one image by an ensemble of models.

    Attributes
    ----------
    path : str
        The image file.
    D_J_per_m2 : float
        Ensemble mean over the models (seeds), in J/m^2.
    uncertainty_J_per_m2 : float
        Standard deviation of ``per_model_J_per_m2`` (ddof = 1; 0 for one model), in J/m^2.
    per_model_J_per_m2 : list of float
        One prediction per model, in the order of ``seeds``.
    seeds : list of int
        Seed of each model.
    input_pixel_size_m : float
        Pixel size of the image as read (from the file or the argument).
    model_input_pixel_size_m : float
        Pixel size of the model's input (run.json ``input_pixel_size_m``).
    kind : {"vector", "scalar"}
    component : str
        The model's component (``mz``, ``all``, ...).
    run : str
        The run folder.
    notes : list of str
        What was done to the image and the caveats that apply to it.
    """

    path: str
    D_J_per_m2: float
    uncertainty_J_per_m2: float
    per_model_J_per_m2: list
    seeds: list
    input_pixel_size_m: float
    model_input_pixel_size_m: float
    kind: str
    component: str
    run: str
    notes: list = field(default_factory=list)

    @property
    def n_models(self) -> int:
        return len(self.per_model_J_per_m2)

    def to_dict(self) -> dict:
        """JSON-safe dict of the fields, plus ``n_models``."""
        return dict(asdict(self), n_models=self.n_models)


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


def _read_tiff(path: Path, source: str, notes: list) -> np.ndarray:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            shape = tif.series[0].shape if tif.series else ()
        _check_pixels(*_image_dims(shape), source, "the image has")
        array = np.asarray(tifffile.imread(path))
    except (tifffile.TiffFileError, OSError, ValueError) as error:
        if isinstance(error, ValueError) and str(error).startswith(source):
            raise
        raise ValueError(f"{source}: not a readable TIFF image ({error})") from error
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        array = _grey_from_colour(array, source, notes)
    if array.ndim != 2:
        raise ValueError(f"{source}: a TIFF image must be one 2-D greyscale page (H, W), got shape {array.shape}")
    return array


def _camera_scalar(array: np.ndarray, source: str, notes: list) -> np.ndarray:
    from .degrade import from_camera

    _check_finite(array, source)
    try:
        normalized = from_camera(array)
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from error
    notes.append("camera intensity normalized to [-1, 1] with from_camera (1st / 99th percentiles)")
    return normalized


def read_image(path, *, pixel_size_m: float | None = None, component: str | None = None) -> InputImage:
    """Read an image of a bubble for :func:`predict` (formats: see the module docstring).

    Parameters
    ----------
    path : str or Path
        ``.npy``, ``.ovf``, ``.png``, ``.tif`` or ``.tiff``.
    pixel_size_m : float, optional
        Pixel size in metres. Required for ``.npy``, ``.png`` and ``.tif`` files, which do not
        record it; an ``.ovf`` file's header wins over it (a differing value is noted).
    component : {"mx", "my", "mz"}, optional
        The component a scalar image shows (required for scalar images; ignored, with a
        note, for vector ones).

    Returns
    -------
    InputImage

    Raises
    ------
    ValueError
        Naming the file and the problem: missing file, unknown extension, NaN or inf,
        a component count other than 3 for a vector or 1 for a scalar image, a scalar
        image without ``component``, a missing or non-positive ``pixel_size_m``, a colour
        image, an OVF file with several layers or non-square cells.
    """
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise ValueError(f"{source}: unsupported file type {path.suffix or '(no extension)'!r}; "
                         f"supported: {', '.join(SUPPORTED_EXTENSIONS)}")
    if not path.is_file():
        raise ValueError(f"image file {source} does not exist")
    notes: list[str] = []

    if suffix == ".ovf":
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
        return InputImage(_vector(data.layer(0), source), "vector", header_pixel, None, source, notes)

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
            if array.dtype.kind == "f" and float(np.abs(array).max(initial=0.0)) <= 1.0 + 1e-6:
                notes.append("scalar .npy values in [-1, 1] taken as the component in units of Ms")
                scalar = np.clip(array, -1.0, 1.0).astype(np.float32)
            else:
                scalar = _camera_scalar(array, source, notes)
            return InputImage(scalar, "scalar", pixel, component, source, notes)
        if array.ndim != 3:
            raise ValueError(f"{source}: a .npy image must be (3, H, W) (vector m) or (H, W) (one component), "
                             f"got shape {array.shape}")
        if component is not None:
            notes.append(f"component {component!r} ignored: a vector image holds all three components")
        return InputImage(_vector(array, source), "vector", pixel, None, source, notes)

    # Camera images.
    pixel = _require_pixel_size(pixel_size_m, source, f"a {suffix[1:].upper()} file")
    component = _check_component(component, source)
    array = _read_png(path, source, notes) if suffix == ".png" else _read_tiff(path, source, notes)
    return InputImage(_camera_scalar(array, source, notes), "scalar", pixel, component, source, notes)


# --------------------------------------------------------------------------------------
# Fitting an image to a model
# --------------------------------------------------------------------------------------


def _fit(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Centre crop or zero pad the last two axes of ``array`` to ``shape``.

    Cropping removes ``(H - h) // 2`` rows from the top and the rest from the bottom (the
    crop rule of :func:`dmilib.degrade.pixelate`); padding adds ``(h - H) // 2`` zero rows on
    top and the rest below; likewise for columns.
    """
    out = array
    for axis, target in ((-2, shape[0]), (-1, shape[1])):
        size = out.shape[axis]
        if size > target:
            start = (size - target) // 2
            out = np.take(out, np.arange(start, start + target), axis=axis)
        elif size < target:
            before = (target - size) // 2
            widths = [(0, 0)] * out.ndim
            widths[axis] = (before, target - size - before)
            out = np.pad(out, widths, mode="constant", constant_values=0.0)
    return out


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


def prepare_inputs(image: InputImage, run, notes: list | None = None) -> np.ndarray:
    """The model input ``(1, H, W, C)`` float32 for ``image`` (see the module docstring).

    Parameters
    ----------
    image : InputImage
        From :func:`read_image`.
    run : dmilib.learn.artifacts.LoadedRun
        The trained run (its ``run.json`` gives the degradation, cell size, input shape and
        input pixel size).
    notes : list, optional
        Receives one line per step worth reporting (resampling, cropping, padding, noise,
        sim-to-real caveats).

    Raises
    ------
    ValueError
        If the image's field of view is below half the model's in either direction (it
        cannot hold a whole bubble); if a scalar image meets a multi-component model or a
        model of another component.
    """
    from .degrade import COMPONENTS

    notes = [] if notes is None else notes
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
    # The field of view the image is fitted to: the training grid for a vector image (which
    # then goes through the degradation), the model's input for a scalar one.
    grid = _training_grid(run) if image.kind == "vector" else None
    if grid is not None:
        cell = _training_cell_size_m(run)
        target_fov, target = (grid[0] * cell, grid[1] * cell), "training grid's"
    else:
        target_fov, target = model_fov, "model's"
    for have, need, name in ((image_fov[0], target_fov[0], "height"), (image_fov[1], target_fov[1], "width")):
        if have > need * (1 + 1e-6):
            notes.append(f"image {name} {_nm(have)} nm centre-cropped to the {target} {_nm(need)} nm: the bubble "
                         "must be at the image centre")
        elif have < need * (1 - 1e-6):
            notes.append(f"image {name} {_nm(have)} nm zero-padded to the {target} {_nm(need)} nm (zero = "
                         "non-magnetic surroundings, as around the simulated disk; a real film is magnetic there)")

    if image.kind == "vector":
        cell = _training_cell_size_m(run)
        m = _resampled(np.asarray(image.array, np.float32), image.pixel_size_m, cell, notes,
                       "vector image", f"the training cell size {_nm(cell)} nm", source)
        if grid is not None:
            m = _fit(m, grid)
        if degradation.noise_sigma > 0:
            notes.append(f"noise sigma = {degradation.noise_sigma:g} Ms added as in training, with the fixed "
                         f"seed {NOISE_SEED}")
        out = degradation.apply(m, cell, seed=NOISE_SEED, training=False)
        out = np.moveaxis(_fit(np.moveaxis(out, -1, 1), (height, width)), 1, -1)
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
        if degradation.blur_fwhm_m > 0:
            notes.append(f"assumes the microscope's resolution is like the training blur (FWHM "
                         f"{_nm(degradation.blur_fwhm_m)} nm)")
        else:
            notes.append("sim-to-real: the model was trained on unblurred simulated magnetization; a Kerr image "
                         "is blurred by the optics (FWHM 300-500 nm)")
        if degradation.noise_sigma > 0:
            notes.append("no noise added: a camera image carries its own")
        out = _fit(scalar, (height, width))[..., None]
    else:
        raise ValueError(f"{source}: image kind must be 'vector' or 'scalar', got {image.kind!r}")

    out = np.asarray(out, np.float32).reshape(1, height, width, -1)
    if out.shape[-1] != channels:
        raise ValueError(f"{source}: prepared {out.shape[-1]} channel(s), the model takes {channels}")
    return out


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


def predict_images(images: list, run) -> list[Prediction]:
    """Predictions for already-read :class:`InputImage` objects with a loaded run."""
    predictions = []
    pixel = _model_pixel_size_m(run)
    for image in images:
        notes = list(image.notes)
        x = prepare_inputs(image, run, notes)
        per_model = np.asarray(run.predict_J_per_m2(x)[:, 0], np.float64)
        spread = float(per_model.std(ddof=1)) if per_model.size > 1 else 0.0
        predictions.append(Prediction(
            path=image.source, D_J_per_m2=float(per_model.mean()), uncertainty_J_per_m2=spread,
            per_model_J_per_m2=[float(v) for v in per_model], seeds=[int(s) for s in run.seeds],
            input_pixel_size_m=float(image.pixel_size_m), model_input_pixel_size_m=pixel, kind=image.kind,
            component=str(run.degradation.component), run=str(run.path), notes=notes))
    return predictions


def predict(paths, run_path, *, pixel_size_m: float | None = None, component: str | None = None) -> list[Prediction]:
    """Infer D from each image in ``paths`` with the models of one trained run.

    Parameters
    ----------
    paths : str, Path or list of them
        Image files (:func:`read_image`). All are read and checked before the run is loaded.
    run_path : str, Path or LoadedRun
        A run folder of ``dmilib train`` (loaded once, ``safe_mode=True``; never
        unpickled), or a run already loaded with :func:`dmilib.learn.artifacts.load_run`.
    pixel_size_m : float, optional
        Pixel size in metres for the files that do not record it (``.npy``, ``.png``, ``.tif``).
    component : {"mx", "my", "mz"}, optional
        Component shown by scalar (camera) images.

    Returns
    -------
    list of Prediction
        One per path, in order.

    Raises
    ------
    ValueError
        For an unreadable or unsuitable image or run (the message names the file).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise ValueError("paths must name at least one image")
    images = [read_image(path, pixel_size_m=pixel_size_m, component=component) for path in paths]
    return predict_images(images, _load(run_path))


def format_prediction(prediction: Prediction) -> str:
    """``"path  D = 0.620 ± 0.040 mJ/m²  (10 models)"``."""
    n = prediction.n_models
    return (f"{prediction.path}  D = {prediction.D_J_per_m2 * 1e3:.3f} ± "
            f"{prediction.uncertainty_J_per_m2 * 1e3:.3f} mJ/m²  ({n} model{'s' if n != 1 else ''})")
