"""File readers: ``.npy``, ``.ovf`` / ``.omf``, ``.png``, ``.tif`` / ``.tiff`` to :class:`InputImage`.

The formats are described in :mod:`dmilib.infer`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .inputs import (MAX_IMAGE_PIXELS, SCALAR_COMPONENTS, SUPPORTED_EXTENSIONS, InputImage, _check_pixels,
                     _constant_flag, _flag, _image_dims)

_SATURATED_FRACTION = 0.5  # fraction of pixels at full scale that flags a saturated image

# |m| above this in a vector input means it is not the reduced magnetization (e.g. A/m).
_MAX_NORM = 1.05

# Lengths above this are almost surely a unit mistake (nanometres passed as metres).
_MAX_PIXEL_M = 1e-4

_OVF_EXTENSIONS = (".ovf", ".omf")


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
    from ..degrade import from_camera

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
        from ..dataset.ovf import read_ovf

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
