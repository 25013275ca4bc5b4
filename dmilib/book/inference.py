"""Images for the inference chapter's look at what ``predict`` refuses or flags.

:func:`flag_examples` turns one Kerr image of a simulated bubble (the chapter's held-out
snapshot, as a camera would see it) into images a lab might feed to ``dmilib predict`` by
mistake, each showing one thing the models never saw. Every example is built from the
same bubble, so that what changes in the prediction comes from the one change made.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FLAG_EXAMPLES", "flag_examples"]

FLAG_EXAMPLES = {
    "held-out bubble": "the image as the models were trained on it (reference)",
    "lattice of bubbles": "3 x 3 copies of it side by side, as in a dense bubble lattice",
    "inverted contrast": "its grey levels inverted: a bright bubble in a dark film",
    "flat image": "a uniform film with no bubble (every pixel at the image's maximum)",
    "off-centre, model-sized": "its content shifted diagonally inside a frame of the same size (zero filled)",
    "off-centre, larger view": "the image in a corner of a zero frame three times its size",
    "cut by the edge": "its right half only: the frame ends through the bubble",
}
"""Names of :func:`flag_examples`' images and how each is made."""


def flag_examples(image, offset_fraction: float = 0.15) -> dict[str, np.ndarray]:
    """The images of :data:`FLAG_EXAMPLES`, built from one bubble image.

    Parameters
    ----------
    image : array_like, shape (H, W)
        A contrast image of one dark bubble in a bright film, in [-1, 1] (e.g. a Kerr image
        from :func:`dmilib.degrade.kerr_image`), at least 4 x 4 pixels.
    offset_fraction : float
        Shift of the off-centre example along each axis, as a fraction of the image's size
        (rounded to whole pixels, at least one). 0.15 moves a 22-pixel image by 3 pixels
        diagonally, about four times the largest centroid offset of the quick training
        images at 35 nm pixels.

    Returns
    -------
    dict
        Name -> float32 ``(h, w)`` array, in the order of :data:`FLAG_EXAMPLES`.

    Raises
    ------
    ValueError
        For an image that is not 2-D, smaller than 4 x 4, not finite, or an
        ``offset_fraction`` outside (0, 0.5).
    """
    array = np.asarray(image, np.float32)
    if array.ndim != 2 or min(array.shape) < 4:
        raise ValueError(f"image must be a 2-D (H, W) array of at least 4 x 4 pixels, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("image must be finite (no NaN or inf)")
    if isinstance(offset_fraction, bool) or not isinstance(offset_fraction, (int, float)) \
            or not 0 < offset_fraction < 0.5:
        raise ValueError(f"offset_fraction must lie strictly between 0 and 0.5, got {offset_fraction!r}")
    rows, cols = array.shape
    dr, dc = (max(1, int(round(offset_fraction * n))) for n in array.shape)
    shifted = np.zeros_like(array)
    # Zero, as around the simulated disk, where the shift uncovers the frame.
    shifted[dr:, dc:] = array[:rows - dr, :cols - dc]
    larger = np.zeros((3 * rows, 3 * cols), np.float32)
    larger[:rows, 2 * cols:] = array
    return {
        "held-out bubble": array.copy(),
        "lattice of bubbles": np.tile(array, (3, 3)),
        "inverted contrast": -array,
        "flat image": np.full_like(array, array.max()),
        "off-centre, model-sized": shifted,
        "off-centre, larger view": larger,
        "cut by the edge": array[:, cols // 2:].copy(),
    }
