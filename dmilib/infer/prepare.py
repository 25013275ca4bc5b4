"""Fitting an image to a run's model: resampling, finding and centring the bubble, cropping or padding, degrading."""

from __future__ import annotations

import math

import numpy as np

from ..cropping import centred_start
from .inputs import NOISE_SEED, InputImage, _check_pixels, _constant_flag, _flag, flag_codes

# Tolerances of the comparisons with the training images (why: the training ranges are
# measured on a finite set, and a measure of a new image scatters a little around them).
_FIELD_OF_VIEW_RATIO = 2.0  # image field of view / model's above which it is flagged
_PIXEL_RATIO = 1.25  # image pixel / model pixel above which it is flagged
_RADIUS_TOLERANCE = 1.15  # factor around the trained bubble-radius range
_WIDTH_TOLERANCE = 1.5  # factor around the trained edge-width range
_OFFSET_TOLERANCE_PX = 2.0  # model pixels beyond the largest training centroid offset

# Field of view of an image relative to the model's below which it cannot hold a bubble.
_MIN_FIELD_FRACTION = 0.5


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
    if run.training_cell_size_m is not None:
        return run.training_cell_size_m
    degradation = run.degradation
    if degradation.pixel_size_m is None and run.input_pixel_size_m is not None:
        return run.input_pixel_size_m / degradation.pixelation
    raise ValueError(f"{run.path}: run.json lacks datasets[0].cell_size_m, the training cell size needed to "
                     "prepare a vector image")


def _model_pixel_size_m(run) -> float:
    if run.input_pixel_size_m is None:
        raise ValueError(f"{run.path}: run.json lacks input_pixel_size_m")
    return run.input_pixel_size_m


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
    from ..degrade import resample

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
    from ..bubble import MIN_AREA_PX, MIN_DEPTH, find_bubbles

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
    trained = run.training_images.get("bubbles")
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
    from ..bubble import POLARITIES, find_bubbles
    from ..degrade import COMPONENTS, Degradation

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
    grid = run.training_grid_shape if image.kind == "vector" else None
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
