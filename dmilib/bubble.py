"""Find the bubble in an image before a model reads it: polarity, connected regions, size, edge width.

A model trained on simulated bubbles has only seen one reversed domain, dark (``m_z = -1``)
in a bright film, near the centre of its field of view. :func:`find_bubbles` checks that an
image shows such a thing, and where, so that :mod:`dmilib.infer` can crop around the bubble
and flag what the model has never seen.

The rule
--------
1. The image is an ``(H, W)`` contrast in [-1, 1] (``m_z`` in units of Ms, or a camera image
   normalized to that scale). It is smoothed with a Gaussian of :data:`SMOOTHING_PX` pixels
   so that single noisy pixels do not form regions.
2. Polarity: ``"dark"`` takes the pixels below 0 (the midpoint of the contrast) as the
   bubble phase, ``"bright"`` those above 0. ``"auto"`` picks the phase that covers the
   *smaller part of the image border*: a bubble is enclosed by film, and the film reaches
   the edges of the field of view. On a tie (e.g. no contrast) it keeps ``"dark"``, the
   training convention.
3. The bubble phase is split into 4-connected regions with :func:`scipy.ndimage.label`;
   their areas, bounding boxes (:func:`scipy.ndimage.find_objects`) and centroids
   (:func:`scipy.ndimage.center_of_mass`) follow. A region counts as a bubble when it has
   at least :data:`MIN_AREA_PX` pixels and a fraction :data:`RELATIVE_AREA` of the largest
   region's area, and when it is *deep*: its smoothed contrast reaches
   :data:`MIN_DEPTH` (halfway to saturation) somewhere inside. Noise on a flat image,
   once normalized, forms many shallow regions; none of them is deep.
4. Per bubble: area, equivalent radius ``sqrt(area / pi)`` in metres, centroid, whether it
   touches the image edge, and its *edge width*: ``2 / mean |grad v|`` over the region's
   boundary pixels of the smoothed image, in metres. A sharp ``+-1`` step gives about
   three pixels (two, widened by the smoothing); a Gaussian blur of standard deviation
   ``s`` gives about ``sqrt(2 pi) s``. It is a proxy of the optics' resolution measured
   the same way on the training images (``run.json`` ``training_images``), so the two can
   be compared.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import ndimage

__all__ = ["POLARITIES", "SMOOTHING_PX", "MIN_AREA_PX", "RELATIVE_AREA", "MIN_DEPTH", "Bubble", "BubbleSearch",
           "find_bubbles", "bubble_statistics"]

POLARITIES = ("auto", "dark", "bright")

SMOOTHING_PX = 1.0
"""Standard deviation (pixels) of the Gaussian smoothing applied before thresholding."""

MIN_AREA_PX = 4
"""A region smaller than this many pixels is not a bubble."""

RELATIVE_AREA = 0.2
"""A region smaller than this fraction of the largest one is not counted as another bubble."""

MIN_DEPTH = 0.5
"""A bubble's smoothed contrast must reach -MIN_DEPTH (dark polarity) somewhere inside it."""


@dataclass(frozen=True)
class Bubble:
    """One bubble (a connected region of the bubble phase).

    Attributes
    ----------
    centroid_px : (float, float)
        Row and column of the centroid, in pixels from the top-left pixel's centre.
    area_px : int
        Pixels in the region.
    equivalent_radius_m : float
        ``sqrt(area / pi)`` in metres.
    edge_width_m : float
        ``2 / mean |grad v|`` on the region's boundary pixels, in metres (see the module
        docstring); ``inf`` when the contrast there is flat.
    touches_edge : bool
        The region reaches the first or last row or column.
    bounding_box_px : (int, int, int, int)
        ``row_start, row_stop, col_start, col_stop`` (stop exclusive).
    """

    centroid_px: tuple
    area_px: int
    equivalent_radius_m: float
    edge_width_m: float
    touches_edge: bool
    bounding_box_px: tuple

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class BubbleSearch:
    """The outcome of :func:`find_bubbles`.

    Attributes
    ----------
    polarity : {"dark", "bright"}
        The phase taken as the bubble.
    polarity_rule : str
        How it was chosen (given, or the border rule of ``"auto"``).
    bubbles : list of Bubble
        Regions that count as bubbles, largest first.
    pixel_size_m : float
    shape : (int, int)
    constant : bool
        The image has no contrast at all (every pixel equal).
    """

    polarity: str
    polarity_rule: str
    bubbles: list = field(default_factory=list)
    pixel_size_m: float = 0.0
    shape: tuple = (0, 0)
    constant: bool = False

    @property
    def bubble(self) -> Bubble | None:
        """The largest bubble, or None."""
        return self.bubbles[0] if self.bubbles else None

    def centroid_offset_m(self, bubble: Bubble | None = None) -> float:
        """Distance in metres from the image centre to ``bubble``'s (default: the largest's) centroid."""
        bubble = bubble or self.bubble
        if bubble is None:
            return float("nan")
        centre = ((self.shape[0] - 1) / 2, (self.shape[1] - 1) / 2)
        return float(math.hypot(bubble.centroid_px[0] - centre[0], bubble.centroid_px[1] - centre[1])
                     * self.pixel_size_m)


def _check(image, pixel_size_m, polarity) -> np.ndarray:
    array = np.asarray(image, dtype=np.float64)
    if array.ndim != 2 or min(array.shape) < 1:
        raise ValueError(f"image must be a 2-D (H, W) array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("image must be finite (no NaN or inf)")
    if isinstance(pixel_size_m, bool) or not isinstance(pixel_size_m, (int, float, np.integer, np.floating)) \
            or not (math.isfinite(float(pixel_size_m)) and pixel_size_m > 0):
        raise ValueError(f"pixel_size_m must be a finite number > 0 (metres), got {pixel_size_m!r}")
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {list(POLARITIES)}, got {polarity!r}")
    return array


def _border(array: np.ndarray) -> np.ndarray:
    return np.concatenate([array[0], array[-1], array[1:-1, 0], array[1:-1, -1]])


def find_bubbles(image, pixel_size_m: float, polarity: str = "auto") -> BubbleSearch:
    """Locate the bubble(s) of a contrast image (rule: see the module docstring).

    Parameters
    ----------
    image : array_like, shape (H, W)
        Contrast in [-1, 1], bubble dark in the training convention.
    pixel_size_m : float
        Pixel size in metres.
    polarity : {"auto", "dark", "bright"}

    Returns
    -------
    BubbleSearch

    Raises
    ------
    ValueError
        For a non-2-D or non-finite image, a bad pixel size or polarity.
    """
    array = _check(image, pixel_size_m, polarity)
    pixel_size_m = float(pixel_size_m)
    constant = bool(np.ptp(array) == 0.0)
    smooth = ndimage.gaussian_filter(array, SMOOTHING_PX, mode="nearest")
    if polarity == "auto" and constant:
        chosen, rule = "dark", "auto: no contrast, the training polarity (dark) kept"
    elif polarity == "auto":
        border = _border(smooth)
        dark, bright = float(np.mean(border < 0)), float(np.mean(border > 0))
        chosen = "bright" if bright < dark else "dark"
        rule = (f"auto: the {chosen} phase covers less of the image border ({min(dark, bright):.0%} against "
                f"{max(dark, bright):.0%})")
    else:
        chosen, rule = polarity, "given"
    signed = smooth if chosen == "dark" else -smooth  # the bubble phase is negative in ``signed``
    search = BubbleSearch(chosen, rule, [], pixel_size_m, tuple(array.shape), constant)
    if constant:
        return search
    phase = signed < 0
    labels, count = ndimage.label(phase)
    if count == 0:
        return search
    index = np.arange(1, count + 1)
    areas = np.asarray(ndimage.sum_labels(phase, labels, index), np.int64)
    depths = np.asarray(ndimage.minimum(signed, labels, index), np.float64)
    largest = int(areas.max())
    keep = (areas >= MIN_AREA_PX) & (areas >= RELATIVE_AREA * largest) & (depths <= -MIN_DEPTH)
    if not keep.any():
        return search
    slices = ndimage.find_objects(labels)
    centroids = ndimage.center_of_mass(phase, labels, index)
    # Gradient of the smoothed contrast, per pixel (a Sobel filter is 8 x the derivative).
    gradient = np.hypot(ndimage.sobel(signed, axis=0), ndimage.sobel(signed, axis=1)) / 8.0
    rows, cols = array.shape
    for number in np.flatnonzero(keep):
        region = labels == number + 1
        boundary = region & ~ndimage.binary_erosion(region)
        mean_gradient = float(gradient[boundary].mean()) if boundary.any() else 0.0
        box = slices[number]
        touches = box[0].start == 0 or box[1].start == 0 or box[0].stop == rows or box[1].stop == cols
        search.bubbles.append(Bubble(
            centroid_px=(float(centroids[number][0]), float(centroids[number][1])), area_px=int(areas[number]),
            equivalent_radius_m=float(math.sqrt(areas[number] / math.pi) * pixel_size_m),
            edge_width_m=float(2.0 / mean_gradient * pixel_size_m) if mean_gradient > 0 else float("inf"),
            touches_edge=bool(touches), bounding_box_px=(box[0].start, box[0].stop, box[1].start, box[1].stop)))
    search.bubbles.sort(key=lambda b: -b.area_px)
    return search


def bubble_statistics(images: np.ndarray, pixel_size_m: float) -> dict:
    """Ranges of what :func:`find_bubbles` (dark polarity) measures on a stack of images.

    Parameters
    ----------
    images : numpy.ndarray, shape (N, H, W)
        ``m_z``-like contrast images (e.g. the training images of a run).
    pixel_size_m : float

    Returns
    -------
    dict
        ``n_images``, ``n_without_bubble``, and ``[min, max]`` over the images that have a
        bubble of ``equivalent_radius_m``, ``edge_width_m`` and ``centroid_offset_m`` (the
        largest bubble's), plus ``bubbles_per_image`` ``[min, max]``. Ranges are None
        when no image has a bubble.
    """
    stack = np.asarray(images)
    if stack.ndim != 3:
        raise ValueError(f"images must have shape (N, H, W), got {stack.shape}")
    radii, widths, offsets, counts = [], [], [], []
    for image in stack:
        search = find_bubbles(image, pixel_size_m, "dark")
        counts.append(len(search.bubbles))
        if search.bubble is not None:
            radii.append(search.bubble.equivalent_radius_m)
            widths.append(search.bubble.edge_width_m)
            offsets.append(search.centroid_offset_m())

    def span(values):
        finite = [v for v in values if math.isfinite(v)]
        return [float(min(finite)), float(max(finite))] if finite else None

    return {"n_images": int(stack.shape[0]), "n_without_bubble": int(sum(c == 0 for c in counts)),
            "equivalent_radius_m": span(radii), "edge_width_m": span(widths), "centroid_offset_m": span(offsets),
            "bubbles_per_image": [int(min(counts)), int(max(counts))] if counts else None}
