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

Modules: ``inputs`` (InputImage, Prediction, flags), ``readers`` (files to images),
``prepare`` (an image to a model's input), ``predict`` (D, interval, flags, report).
"""

from .inputs import (FLAG_CODES, NOISE_SEED, REFUSING_FLAGS, SCALAR_COMPONENTS, SUPPORTED_EXTENSIONS, InputImage,
                     Prediction, flag_codes)
from .predict import fields_array, format_prediction, predict, predict_images, predict_series
from .prepare import prepare_inputs
from .readers import read_image, read_series

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

