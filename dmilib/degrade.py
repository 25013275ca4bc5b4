"""Turn simulated magnetization into microscope-like images: component, pixelation, noise, Kerr optics.

The study (Figs. 4, 6 and 7) feeds the CNN one or more components of the simulated reduced
magnetization, coarse grained by ``b x b`` block averaging of the magnetization vector
(``b`` = 2, 5, 10, 20) and, for Fig. 7, with additive Gaussian noise of standard deviation
``sigma`` = 0.05, 0.10, 0.15 (in units of Ms) and the training set augmented fivefold. This
module reproduces that preprocessing and goes beyond it with a Kerr-microscope model: a
Gaussian point-spread function of given FWHM (real optics: 300-500 nm) acting on the
sample's magnetization, and a camera that samples the blurred image on pixels of a given
size. With both, a model trained on simulations sees images like those of a real Kerr
microscope, and :func:`from_camera` brings a measured image to the same contrast scale.

Conventions
-----------
* Input magnetization ``m``: ``(N, 3, H, W)`` or ``(3, H, W)``, components ``mx, my, mz``,
  square cells of ``cell_size_m`` metres, zero outside the disk.
* The array helpers (:func:`pixelate`, :func:`gaussian_blur`, :func:`resample`) work on the
  last two axes of ``(..., H, W)`` arrays (channels first, e.g. ``(N, C, H, W)``), the
  layout of the simulations; :meth:`Degradation.apply` returns channels last
  ``(N', H', W', C)`` float32, the layout Keras expects.
* Lengths are in metres everywhere (``fwhm_m``, ``pixel_size_m``, ``cell_size_m``).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass

import numpy as np
import scipy.ndimage
import scipy.signal

from .cropping import block_mean
from .errors import FieldValueError

__all__ = [
    "COMPONENTS",
    "MIN_OUTPUT_PIXELS",
    "Degradation",
    "pixelate",
    "gaussian_blur",
    "resample",
    "resampled_size",
    "kerr_image",
    "to_uint8",
    "from_camera",
]

COMPONENTS: dict[str, tuple[int, ...]] = {
    "mx": (0,),
    "my": (1,),
    "mz": (2,),
    "inplane": (0, 1),
    "all": (0, 1, 2),
}

#: Smallest output image side: the CNN's three 2 x 2 max-pooling stages need 8 pixels.
MIN_OUTPUT_PIXELS = 8

# Lengths above this are almost surely a unit mistake (nanometres passed as metres).
_MAX_LENGTH_M = 1e-4

# Above this kernel radius (in pixels) the blur switches from direct to FFT convolution:
# a 400 nm FWHM on 1.5 nm cells is a 900-tap kernel, which direct convolution makes
# hundreds of times slower than an FFT.
_FFT_RADIUS_PX = 32

# Gaussian truncation, as scipy.ndimage.gaussian_filter's default.
_TRUNCATE = 4.0

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


# --------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------


def _is_int(value) -> bool:
    # bool is an int subclass, but pixelation=True is a bug, not 1.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_length(name: str, value, *, allow_zero: bool) -> float:
    lower = "[0" if allow_zero else "(0"
    allowed = f"{lower}, {_MAX_LENGTH_M:g}] m (metres, e.g. 400e-9)"
    if not _is_real(value) or not math.isfinite(float(value)):
        raise FieldValueError(name, f"{name} must be a finite number in {allowed}, got {value!r}")
    value = float(value)
    if value < 0 or (value == 0 and not allow_zero) or value > _MAX_LENGTH_M:
        raise FieldValueError(name, f"{name} must be in {allowed}, got {value!r}")
    return value


def _check_images(name: str, images) -> np.ndarray:
    array = np.asarray(images)
    if array.ndim < 2:
        raise ValueError(f"{name} must have at least 2 dimensions (..., H, W), got shape {array.shape}")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a real numeric array, got dtype {array.dtype}")
    return array


def resampled_size(size: int, from_pixel_m: float, to_pixel_m: float) -> int:
    """Number of pixels of size ``to_pixel_m`` that cover ``size`` pixels of ``from_pixel_m``.

    ``round(size * from / to)`` with halves rounded up (not to even), at least 1. A relative
    tolerance of 1e-9 absorbs floating-point error in the ratio, so that e.g. 53 pixels of
    15 nm resampled to 106 nm give exactly 7.5 -> 8.
    """
    exact = size * from_pixel_m / to_pixel_m
    return max(1, int(math.floor(exact + 0.5 + 1e-9 * max(1.0, exact))))


# --------------------------------------------------------------------------------------
# Array operations on (..., H, W)
# --------------------------------------------------------------------------------------


def pixelate(images: np.ndarray, b: int) -> np.ndarray:
    """Block-average ``(..., H, W)`` images (channels first) by ``b x b``.

    Each non-overlapping ``b x b`` block is replaced by its mean, component by component,
    which for a magnetization is the area-averaged vector of the study (Fig. 6a); its norm
    is below 1 where the block straddles a wall and it is not renormalized.

    Crop rule for sizes that ``b`` does not divide: ``floor(H/b) * b`` rows and
    ``floor(W/b) * b`` columns are kept. The ``H % b`` remainder rows are removed
    symmetrically, ``(H % b) // 2`` from the top and the rest (one more when the remainder
    is odd) from the bottom; likewise for columns (left, then right). A centred disk thus
    stays centred to within half a cell. Cells outside the disk are zero and are averaged
    as zeros, as a camera sees the non-magnetic surroundings; blocks on the disk edge
    therefore have a reduced magnitude.

    Parameters
    ----------
    images : numpy.ndarray, shape (..., H, W)
        Any leading axes (e.g. ``(N, C, H, W)``); the last two are rows and columns.
    b : int
        Block size in pixels, ``1 <= b <= min(H, W)``; ``b = 1`` returns a float32 copy.

    Returns
    -------
    numpy.ndarray, shape (..., H // b, W // b), float32
        Means accumulated in float64.
    """
    array = _check_images("images", images)
    if not _is_int(b) or b < 1:
        raise ValueError(f"b (pixelation) must be an integer >= 1, got {b!r}")
    height, width = array.shape[-2:]
    if b > min(height, width):
        raise ValueError(f"b (pixelation) must be in [1, {min(height, width)}] for a {height} x {width} image, got {b}")
    if b == 1:
        return array.astype(np.float32, copy=True)
    return block_mean(array, b)


def _gaussian_kernel(sigma_px: float) -> np.ndarray:
    # The same sampled, truncated and normalized kernel as scipy.ndimage.gaussian_filter,
    # so the FFT path reproduces the direct path to rounding error.
    radius = int(_TRUNCATE * sigma_px + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma_px) ** 2)
    return kernel / kernel.sum()


def gaussian_blur(images: np.ndarray, fwhm_m: float, pixel_size_m: float) -> np.ndarray:
    """Convolve ``(..., H, W)`` images with an isotropic Gaussian point-spread function.

    The kernel is that of :func:`scipy.ndimage.gaussian_filter` with
    ``sigma = fwhm_m / (2 sqrt(2 ln 2)) / pixel_size_m`` pixels, truncated at 4 sigma, and
    ``mode="constant"`` (zero outside the image: the surroundings of the sample are
    non-magnetic). Small kernels (radius <= 32 pixels) use ``gaussian_filter`` itself;
    larger ones the identical kernel applied separably with FFT convolution
    (:func:`scipy.signal.fftconvolve`, zero padded), which agrees to rounding error and is
    much faster for optics blurs on fine cells. Because the kernel is normalized, total
    intensity is conserved except for what spreads past the image border.

    Parameters
    ----------
    images : numpy.ndarray, shape (..., H, W)
        Leading axes are not blurred.
    fwhm_m : float
        Full width at half maximum of the point-spread function in metres; 0 returns a copy.
    pixel_size_m : float
        Pixel size of ``images`` in metres.

    Returns
    -------
    numpy.ndarray, same shape, float32
    """
    array = _check_images("images", images)
    fwhm_m = _check_length("fwhm_m", fwhm_m, allow_zero=True)
    pixel_size_m = _check_length("pixel_size_m", pixel_size_m, allow_zero=False)
    if fwhm_m == 0.0:
        return array.astype(np.float32, copy=True)
    sigma_px = fwhm_m / _FWHM_PER_SIGMA / pixel_size_m
    work = array.astype(np.float64)
    kernel = _gaussian_kernel(sigma_px)
    if kernel.size // 2 <= _FFT_RADIUS_PX:
        sigmas = (0.0,) * (array.ndim - 2) + (sigma_px, sigma_px)
        blurred = scipy.ndimage.gaussian_filter(work, sigmas, mode="constant", cval=0.0, truncate=_TRUNCATE)
        return blurred.astype(np.float32)
    for axis in (-2, -1):
        shape = [1] * array.ndim
        shape[axis] = kernel.size
        # mode="same" of a full linear convolution with an odd, symmetric kernel is exactly
        # the zero-padded correlation that gaussian_filter(mode="constant") computes.
        work = scipy.signal.fftconvolve(work, kernel.reshape(shape), mode="same", axes=axis)
    return work.astype(np.float32)


def _resample_matrix(size_in: int, size_out: int, width: float) -> np.ndarray:
    """Weights ``(size_out, size_in)`` mapping input pixels to output pixels along one axis.

    Coordinates are in input pixels: input pixel ``j`` spans ``[j, j + 1]``; output pixel
    ``i`` spans ``[o + i w, o + (i + 1) w]`` with ``w = width`` and the offset ``o`` that
    centres the output grid on the input grid.
    """
    offset = 0.5 * (size_in - size_out * width)
    index_out = np.arange(size_out, dtype=np.float64)
    weights = np.zeros((size_out, size_in), dtype=np.float64)
    if width > 1.0:
        start = offset + index_out * width
        stop = start + width
        j = np.arange(size_in, dtype=np.float64)
        overlap = np.minimum(stop[:, None], j[None, :] + 1.0) - np.maximum(start[:, None], j[None, :])
        weights = np.clip(overlap, 0.0, None)
        # Normalize by the covered length, not the pixel width: an edge pixel that reaches
        # past the input averages what it covers, so a constant image stays constant.
        weights /= weights.sum(axis=1, keepdims=True)
    else:
        # Linear interpolation between input pixel centres (j + 0.5), holding the edge
        # values beyond the outermost centres.
        position = np.clip(offset + (index_out + 0.5) * width - 0.5, 0.0, size_in - 1.0)
        lower = np.floor(position).astype(np.int64)
        upper = np.minimum(lower + 1, size_in - 1)
        fraction = position - lower
        rows = np.arange(size_out)
        np.add.at(weights, (rows, lower), 1.0 - fraction)
        np.add.at(weights, (rows, upper), fraction)
    return weights


def resample(images: np.ndarray, from_pixel_m: float, to_pixel_m: float) -> np.ndarray:
    """Resample ``(..., H, W)`` images from square pixels of ``from_pixel_m`` to ``to_pixel_m``.

    Output size: ``H' = round(H * from / to)`` and ``W' = round(W * from / to)``
    (:func:`resampled_size`, halves up). The output grid is centred on the input grid.

    Method (separable; one weight matrix per axis, ``A_rows @ image @ A_cols.T``):

    * downsampling (``to > from``): exact area weights. Each output pixel is the mean of the
      input treated as piecewise constant over its pixels, weighted by the overlap length of
      each input pixel with the output pixel (a camera pixel integrates the light falling
      on it; no aliasing, no extra blur). An output pixel that reaches past the input's
      edge averages the part it covers.
    * upsampling (``to < from``): bilinear interpolation between input pixel centres, edge
      values held beyond the outermost centres.
    * ``to == from``: a float32 copy.

    Both are convex combinations of the input, so values stay within the input's range.

    Parameters
    ----------
    images : numpy.ndarray, shape (..., H, W)
    from_pixel_m, to_pixel_m : float
        Input and output pixel sizes in metres.

    Returns
    -------
    numpy.ndarray, shape (..., H', W'), float32
    """
    array = _check_images("images", images)
    from_pixel_m = _check_length("from_pixel_m", from_pixel_m, allow_zero=False)
    to_pixel_m = _check_length("to_pixel_m", to_pixel_m, allow_zero=False)
    height, width = array.shape[-2:]
    if math.isclose(from_pixel_m, to_pixel_m, rel_tol=1e-9):
        return array.astype(np.float32, copy=True)
    pixel_width = to_pixel_m / from_pixel_m
    rows = _resample_matrix(height, resampled_size(height, from_pixel_m, to_pixel_m), pixel_width)
    cols = _resample_matrix(width, resampled_size(width, from_pixel_m, to_pixel_m), pixel_width)
    out = rows @ array.astype(np.float64) @ cols.T
    return out.astype(np.float32)


# --------------------------------------------------------------------------------------
# The degradation pipeline
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Degradation:
    """How a simulated magnetization becomes an image for the CNN.

    Parameters
    ----------
    component : str
        Key of :data:`COMPONENTS`: ``"mx"``, ``"my"``, ``"mz"``, ``"inplane"`` (mx, my) or
        ``"all"`` (mx, my, mz); the channels follow this order.
    pixelation : int
        ``b``: ``b x b`` block averaging of the magnetization vector (:func:`pixelate`,
        including its crop rule). Paper: 2, 5, 10, 20.
    noise_sigma : float
        Standard deviation of additive Gaussian noise in units of Ms (``m`` is reduced).
        Paper: 0.05, 0.10, 0.15. Noise is added to every pixel, including those outside the
        disk, as camera noise covers the whole field of view.
    noise_copies : int
        ``k``: with ``training=True`` and ``noise_sigma > 0`` each image appears ``k`` times
        with independent noise (the paper's fivefold augmentation).
    noise_before_pixelation : bool
        Our reading of Fig. 7a: the paper adds noise to the simulated cells, then
        pixelates. Averaging ``b^2`` independent values divides the noise std by ``b``, so
        the network sees ``sigma / b`` per pixel, which accounts for much of the paper's
        robustness to noise. ``False`` adds ``sigma`` to the pixelated image instead.
    blur_fwhm_m : float
        Kerr optics: FWHM of the Gaussian point-spread function in metres (0 = none; real
        optics 300-500 nm).
    pixel_size_m : float or None
        Kerr camera: resample to this pixel size in metres (:func:`resample`); ``None``
        keeps the pixelated cell grid (``pixelation * cell_size_m``). Must not be smaller
        than the cell size (a camera does not super-resolve).

    Notes
    -----
    :meth:`apply` runs: select components -> noise (if before pixelation) -> pixelate ->
    noise (if after) -> blur (at the current pixel size ``pixelation * cell_size_m``) ->
    resample -> channels last. Noise then pixelation follows the paper; the blur acts on the
    sample's magnetization before the camera samples it, so it precedes the resampling.
    Component selection first is exact because every later step acts on each component
    independently.
    """

    component: str = "all"
    pixelation: int = 1
    noise_sigma: float = 0.0
    noise_copies: int = 1
    noise_before_pixelation: bool = True
    blur_fwhm_m: float = 0.0
    pixel_size_m: float | None = None

    def __post_init__(self) -> None:
        self.validate()

    # ---- validation and shapes ---------------------------------------------------------

    def validate(self, cell_size_m: float | None = None, *, image_shape: tuple[int, int] | None = None) -> None:
        """Check every field; raise ValueError naming the field and its allowed range.

        The error is a :class:`~dmilib.errors.FieldValueError`: its ``field`` is the name.

        Parameters
        ----------
        cell_size_m : float, optional
            Cell size of the input in metres; enables the check ``pixel_size_m >= cell_size_m``.
        image_shape : (int, int), optional
            ``(H, W)`` of the input (needs ``cell_size_m``); enables the check that the output
            has at least :data:`MIN_OUTPUT_PIXELS` pixels per side, with the largest allowed
            ``pixelation`` or ``pixel_size_m`` for that input in the message.
        """
        if not isinstance(self.component, str) or self.component not in COMPONENTS:
            raise FieldValueError("component",
                                  f"component must be one of {sorted(COMPONENTS)}, got {self.component!r}")
        if not _is_int(self.pixelation) or self.pixelation < 1:
            raise FieldValueError("pixelation", f"pixelation must be an integer >= 1, got {self.pixelation!r}")
        if not _is_real(self.noise_sigma) or not math.isfinite(float(self.noise_sigma)) or self.noise_sigma < 0:
            raise FieldValueError("noise_sigma", "noise_sigma must be a finite number >= 0 (units of Ms), "
                                  f"got {self.noise_sigma!r}")
        if not _is_int(self.noise_copies) or self.noise_copies < 1:
            raise FieldValueError("noise_copies", f"noise_copies must be an integer >= 1, got {self.noise_copies!r}")
        if not isinstance(self.noise_before_pixelation, (bool, np.bool_)):
            raise FieldValueError("noise_before_pixelation", "noise_before_pixelation must be True or False, "
                                  f"got {self.noise_before_pixelation!r}")
        _check_length("blur_fwhm_m", self.blur_fwhm_m, allow_zero=True)
        if self.pixel_size_m is not None:
            _check_length("pixel_size_m", self.pixel_size_m, allow_zero=False)
        if cell_size_m is not None:
            cell_size_m = _check_length("cell_size_m", cell_size_m, allow_zero=False)
            if self.pixel_size_m is not None and self.pixel_size_m < cell_size_m * (1.0 - 1e-9):
                raise FieldValueError("pixel_size_m", f"pixel_size_m must be None or in [cell_size_m = "
                                      f"{cell_size_m:g}, {_MAX_LENGTH_M:g}] m (a camera does not super-resolve), "
                                      f"got {self.pixel_size_m!r}")
        if image_shape is not None:
            if cell_size_m is None:
                raise ValueError("cell_size_m is required to check image_shape")
            self._check_output_size(image_shape, cell_size_m)

    def _check_output_size(self, image_shape: tuple[int, int], cell_size_m: float) -> tuple[int, int]:
        if len(image_shape) != 2 or not all(_is_int(n) and n >= 1 for n in image_shape):
            raise ValueError(f"image_shape must be (H, W) with positive integers, got {image_shape!r}")
        height, width = int(image_shape[0]), int(image_shape[1])
        smallest = min(height, width)
        if smallest < MIN_OUTPUT_PIXELS:
            raise ValueError(f"the input image ({height} x {width}) must be at least "
                             f"{MIN_OUTPUT_PIXELS} x {MIN_OUTPUT_PIXELS} cells")
        b = self.pixelation
        rows, cols = height // b, width // b
        if min(rows, cols) < MIN_OUTPUT_PIXELS:
            raise FieldValueError("pixelation", f"pixelation must be in [1, {smallest // MIN_OUTPUT_PIXELS}] for a "
                                  f"{height} x {width} input: pixelation = {b} leaves {rows} x {cols} pixels, "
                                  f"fewer than {MIN_OUTPUT_PIXELS} x {MIN_OUTPUT_PIXELS}")
        if self.pixel_size_m is None:
            return rows, cols
        current = b * cell_size_m
        out_rows = resampled_size(rows, current, self.pixel_size_m)
        out_cols = resampled_size(cols, current, self.pixel_size_m)
        if min(out_rows, out_cols) < MIN_OUTPUT_PIXELS:
            # round(n * current / p) >= 8  <=>  p <= n * current / 7.5
            largest = min(rows, cols) * current / (MIN_OUTPUT_PIXELS - 0.5)
            raise FieldValueError("pixel_size_m", f"pixel_size_m must be in [cell_size_m = {cell_size_m:g}, "
                                  f"{largest:.6g}] m for a {height} x {width} input with pixelation = {b}: "
                                  f"pixel_size_m = {self.pixel_size_m:g} gives {out_rows} x {out_cols} pixels, "
                                  f"fewer than {MIN_OUTPUT_PIXELS} x {MIN_OUTPUT_PIXELS}")
        return out_rows, out_cols

    @property
    def channels(self) -> int:
        """Number of output channels ``C`` (1, 2 or 3)."""
        return len(COMPONENTS[self.component])

    def copies_per_image(self, training: bool) -> int:
        """Outputs per input image: ``noise_copies`` when training with noise, else 1."""
        return self.noise_copies if (training and self.noise_sigma > 0) else 1

    def output_pixel_size_m(self, cell_size_m: float) -> float:
        """Pixel size of the output in metres: ``pixel_size_m`` or ``pixelation * cell_size_m``."""
        self.validate(cell_size_m)
        if self.pixel_size_m is not None:
            return float(self.pixel_size_m)
        return float(self.pixelation * cell_size_m)

    def output_shape(self, height: int, width: int, cell_size_m: float) -> tuple[int, int]:
        """``(H', W')`` of the output for an ``H x W`` input of ``cell_size_m`` cells.

        Raises ValueError (naming ``pixelation`` or ``pixel_size_m`` and the largest allowed
        value) when the output would be smaller than :data:`MIN_OUTPUT_PIXELS` per side.
        """
        self.validate(cell_size_m)
        return self._check_output_size((height, width), float(cell_size_m))

    # ---- the pipeline ------------------------------------------------------------------

    def apply(self, m: np.ndarray, cell_size_m: float, *, seed: int | None = None,
              training: bool = False) -> np.ndarray:
        """Degrade magnetizations into channels-last images (see the class Notes for the order).

        Parameters
        ----------
        m : numpy.ndarray, shape (N, 3, H, W) or (3, H, W)
            Reduced magnetization (mx, my, mz), zero outside the disk.
        cell_size_m : float
            Cell size of ``m`` in metres.
        seed : int, optional
            Seed of the :func:`numpy.random.default_rng` that draws the noise; the same seed
            gives the same images. Noise is drawn for all three components, image by image
            and copy by copy, whatever ``component`` selects, so the ``mz`` channel of
            ``component="all"`` equals ``component="mz"`` for the same seed.
        training : bool
            With ``noise_sigma > 0``: ``True`` makes ``noise_copies`` noisy copies of each
            image, ``False`` one noisy copy (test images are noisy too, as in the paper).

        Returns
        -------
        numpy.ndarray, shape (N * k, H', W', C), float32
            ``k = copies_per_image(training)``; image-major order ``[img0 copy0 .. copy k-1,
            img1 ...]``, so the labels are ``np.repeat(labels, k)``.
        """
        array = np.asarray(m)
        if array.ndim == 3:
            array = array[None]
        if array.ndim != 4 or array.shape[1] != 3:
            raise ValueError(f"m must have shape (N, 3, H, W) or (3, H, W), got {np.shape(m)}")
        if array.dtype.kind not in "biuf":
            raise ValueError(f"m must be a real numeric array, got dtype {array.dtype}")
        if not isinstance(training, (bool, np.bool_)):
            raise ValueError(f"training must be True or False, got {training!r}")
        cell_size_m = _check_length("cell_size_m", cell_size_m, allow_zero=False)
        self.validate(cell_size_m)
        out_rows, out_cols = self._check_output_size(array.shape[-2:], cell_size_m)
        copies = self.copies_per_image(bool(training))
        channels = list(COMPONENTS[self.component])
        noisy = self.noise_sigma > 0
        current_pixel_m = self.pixelation * cell_size_m
        rng = np.random.default_rng(seed)
        out = np.empty((array.shape[0] * copies, out_rows, out_cols, len(channels)), dtype=np.float32)
        # One image at a time bounds the memory (a full-resolution noisy batch of the paper's
        # dataset would be tens of GB) and fixes the order in which noise is drawn.
        for index in range(array.shape[0]):
            image = array[index].astype(np.float32)
            if not np.isfinite(image).all():
                raise ValueError(f"m must be finite; image {index} contains NaN or inf")
            batch = np.broadcast_to(image[channels], (copies, len(channels), *image.shape[-2:]))
            if noisy and self.noise_before_pixelation:
                batch = batch + self._noise(rng, (copies, 3, *image.shape[-2:]))[:, channels]
            batch = pixelate(batch, self.pixelation)
            if noisy and not self.noise_before_pixelation:
                batch = batch + self._noise(rng, (copies, 3, *batch.shape[-2:]))[:, channels]
            if self.blur_fwhm_m > 0:
                batch = gaussian_blur(batch, self.blur_fwhm_m, current_pixel_m)
            if self.pixel_size_m is not None:
                batch = resample(batch, current_pixel_m, self.pixel_size_m)
            out[index * copies : (index + 1) * copies] = np.moveaxis(batch, 1, -1)
        return out

    def _noise(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(self.noise_sigma)

    # ---- serialization -----------------------------------------------------------------

    def to_dict(self) -> dict:
        """JSON-safe dict of the fields (plain Python int/float/bool/str/None)."""
        return {
            "component": str(self.component),
            "pixelation": int(self.pixelation),
            "noise_sigma": float(self.noise_sigma),
            "noise_copies": int(self.noise_copies),
            "noise_before_pixelation": bool(self.noise_before_pixelation),
            "blur_fwhm_m": float(self.blur_fwhm_m),
            "pixel_size_m": None if self.pixel_size_m is None else float(self.pixel_size_m),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Degradation":
        """Inverse of :meth:`to_dict`; missing keys take the defaults, unknown keys raise ValueError."""
        if not isinstance(data, dict):
            raise ValueError(f"data must be a dict, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown Degradation field(s) {unknown}; allowed: {sorted(known)}")
        return cls(**data)

    def describe(self) -> str:
        """Short label for tables and captions, e.g. ``"mz, b=10, sigma=0.05 x5"``.

        Noise is marked ``(after b)`` when added after pixelation; blur and camera pixel are
        given in nanometres, e.g. ``"mz, b=1, blur=400 nm, pixel=100 nm"``.
        """
        parts = [self.component, f"b={self.pixelation}"]
        if self.noise_sigma > 0:
            noise = f"sigma={self.noise_sigma:g}"
            if self.noise_copies > 1:
                noise += f" x{self.noise_copies}"
            if not self.noise_before_pixelation:
                noise += " (after b)"
            parts.append(noise)
        if self.blur_fwhm_m > 0:
            parts.append(f"blur={self.blur_fwhm_m * 1e9:.4g} nm")
        if self.pixel_size_m is not None:
            parts.append(f"pixel={self.pixel_size_m * 1e9:.4g} nm")
        return ", ".join(parts)


# --------------------------------------------------------------------------------------
# Kerr images and camera files
# --------------------------------------------------------------------------------------


def kerr_image(m: np.ndarray, cell_size_m: float, component: str = "mz", blur_fwhm_m: float = 400e-9,
               pixel_size_m: float | None = 100e-9, noise_sigma: float = 0.0,
               seed: int | None = None) -> np.ndarray:
    """A Kerr-microscope-like image of one magnetization component.

    The component is blurred by the optics' Gaussian point-spread function on the cell
    grid, sampled on camera pixels of ``pixel_size_m`` (area weights, :func:`resample`),
    and, unlike :meth:`Degradation.apply`, noise is added per camera pixel (shot and read
    noise arise in the camera, after the optics). The result is clipped to [-1, 1] like a
    camera's finite range; without noise it already lies there.

    Parameters
    ----------
    m : numpy.ndarray, shape (3, H, W) or (1, 3, H, W)
        Reduced magnetization of one image.
    cell_size_m : float
        Cell size in metres.
    component : {"mx", "my", "mz"}
        The Kerr geometry: polar Kerr sees mz, longitudinal Kerr an in-plane component.
    blur_fwhm_m : float
        Point-spread FWHM in metres (0 = none).
    pixel_size_m : float or None
        Camera pixel size in metres, at least ``cell_size_m``; ``None`` keeps the cells.
    noise_sigma : float
        Gaussian noise std per camera pixel in units of Ms.
    seed : int, optional
        Seed of the noise generator.

    Returns
    -------
    numpy.ndarray, shape (H', W'), float32 in [-1, 1]
        ``H' = round(H * cell_size_m / pixel_size_m)``.
    """
    array = np.asarray(m)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3 or array.shape[0] != 3:
        raise ValueError(f"m must have shape (3, H, W) or (1, 3, H, W), got {np.shape(m)}")
    if component not in ("mx", "my", "mz"):
        raise ValueError(f"component must be one of ['mx', 'my', 'mz'] (one Kerr channel), got {component!r}")
    cell_size_m = _check_length("cell_size_m", cell_size_m, allow_zero=False)
    if not _is_real(noise_sigma) or not math.isfinite(float(noise_sigma)) or noise_sigma < 0:
        raise ValueError(f"noise_sigma must be a finite number >= 0 (units of Ms), got {noise_sigma!r}")
    if pixel_size_m is not None:
        pixel_size_m = _check_length("pixel_size_m", pixel_size_m, allow_zero=False)
        if pixel_size_m < cell_size_m * (1.0 - 1e-9):
            raise ValueError(f"pixel_size_m must be None or >= cell_size_m = {cell_size_m:g} m "
                             f"(a camera does not super-resolve), got {pixel_size_m!r}")
    image = array[COMPONENTS[component][0]].astype(np.float32)
    if not np.isfinite(image).all():
        raise ValueError("m must be finite")
    image = gaussian_blur(image, blur_fwhm_m, cell_size_m)
    if pixel_size_m is not None:
        image = resample(image, cell_size_m, pixel_size_m)
    if noise_sigma > 0:
        rng = np.random.default_rng(seed)
        image = image + rng.standard_normal(image.shape, dtype=np.float32) * np.float32(noise_sigma)
    return np.clip(image, -1.0, 1.0).astype(np.float32)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Map [-1, 1] linearly to [0, 255] (rounded, values outside clipped) like an 8-bit camera.

    ``-1 -> 0``, ``+1 -> 255``; the quantization step is 2/255 in units of Ms, so
    :func:`from_camera` recovers the image to within 1/255.
    """
    array = np.asarray(image, dtype=np.float64)
    if not np.isfinite(array).all():
        raise ValueError("image must be finite (no NaN or inf)")
    return np.rint((np.clip(array, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def from_camera(image: np.ndarray, lower_percentile: float = 1.0, upper_percentile: float = 99.0) -> np.ndarray:
    """Normalize a measured 2D intensity image to the [-1, 1] contrast of the simulations.

    The Kerr signal is linear in the magnetization component up to an unknown offset and
    gain, so the intensity at ``lower_percentile`` is mapped to -1, that at
    ``upper_percentile`` to +1, linearly in between, and values beyond are clipped. The
    percentiles (rather than min/max) ignore hot pixels and dust. For a bubble image whose
    saturated domains each cover more than 1 % of the field of view the defaults map the two
    domains to exactly -1 and +1.

    Parameters
    ----------
    image : numpy.ndarray, shape (H, W)
        uint8, uint16 or float intensities.
    lower_percentile, upper_percentile : float
        ``0 <= lower < upper <= 100``.

    Returns
    -------
    numpy.ndarray, shape (H, W), float32 in [-1, 1]
    """
    array = np.asarray(image)
    if array.ndim != 2:
        raise ValueError(f"image must be 2D (H, W), got shape {array.shape}")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"image must be a real numeric array, got dtype {array.dtype}")
    for name, value in (("lower_percentile", lower_percentile), ("upper_percentile", upper_percentile)):
        if not _is_real(value) or not 0.0 <= float(value) <= 100.0:
            raise ValueError(f"{name} must be in [0, 100], got {value!r}")
    if not lower_percentile < upper_percentile:
        raise ValueError(f"lower_percentile must be < upper_percentile, "
                         f"got {lower_percentile!r} >= {upper_percentile!r}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError("image must be finite (no NaN or inf)")
    low, high = np.percentile(array, [lower_percentile, upper_percentile])
    if not high > low:
        raise ValueError(f"image has no contrast between the {lower_percentile:g} and {upper_percentile:g} "
                         f"percentiles (both {low:g}); a constant image cannot be normalized")
    normalized = 2.0 * (array - low) / (high - low) - 1.0
    return np.clip(normalized, -1.0, 1.0).astype(np.float32)
