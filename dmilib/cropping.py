"""The one crop rule of dmilib: keep the centred window, the odd cell left over goes last.

Block averaging (:func:`dmilib.degrade.pixelate`, :func:`dmilib.dataset.reduce.block_average`),
the placement of pixelated images in figures (:mod:`dmilib.plotting`) and the fitting of a
user's image to a model's input (:mod:`dmilib.infer`) all crop or pad with
:func:`centred_start`, so a centred disk stays centred to within half a cell everywhere.
"""

from __future__ import annotations

import numpy as np


def centred_start(size: int, kept: int) -> int:
    """First index of the centred window of ``kept`` out of ``size`` cells.

    ``(size - kept) // 2`` cells go before the window and the rest (one more when the
    difference is odd) after it. For padding (``kept > size``) the result is minus the
    number of cells padded before.

    >>> centred_start(10, 6), centred_start(11, 6), centred_start(6, 11)
    (2, 2, -2)
    """
    return (size - kept) // 2 if size >= kept else -((kept - size) // 2)


def block_window(height: int, width: int, b: int) -> tuple[slice, slice]:
    """Rows and columns kept by ``b x b`` block averaging: the centred multiples of ``b``.

    >>> block_window(11, 10, 4)
    (slice(1, 9, None), slice(1, 9, None))
    """
    rows, cols = (height // b) * b, (width // b) * b
    top, left = centred_start(height, rows), centred_start(width, cols)
    return slice(top, top + rows), slice(left, left + cols)


def block_mean(array: np.ndarray, b: int) -> np.ndarray:
    """``b x b`` block means of the last two axes after :func:`block_window` (float64 sums, float32 out).

    The caller checks ``b`` (an integer in ``[1, min(H, W)]``).
    """
    height, width = array.shape[-2:]
    rows, cols = block_window(height, width, b)
    cropped = array[..., rows, cols]
    blocks = cropped.reshape(*array.shape[:-2], height // b, b, width // b, b)
    return blocks.mean(axis=(-3, -1), dtype=np.float64).astype(np.float32)
