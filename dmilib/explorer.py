"""An interactive explorer of a dataset store, and inference from an uploaded image (ipywidgets).

:func:`explore` returns a widget with sliders for the labels of the stored samples (D,
mu0 Hz, and the film: uniform or a Voronoi tessellation seed) that shows the selected
snapshot next to what a microscope would make of it, and, when a trained run is given, a
file upload that infers D from the reader's own image with :func:`dmilib.infer.predict`.
:func:`explorer_still` draws the same panels as a plain matplotlib figure, for static pages
(a built book has no kernel to move sliders).

The panels, left to right:

1. the stored magnetization: m_z in colour with arrows of the in-plane moment
   (:func:`dmilib.plotting.plot_mz_with_arrows`);
2. one panel per study pixelation ``b`` (default 5 and 10): ``b x b`` block averages of the
   *full-resolution* cells, as in the paper's Fig. 6 (on a reduced store, whose cells are
   already ``r x r`` averages, ``b / r`` is applied, so ``b`` keeps its meaning);
3. a polar-Kerr-like image (:func:`dmilib.degrade.kerr_image`): m_z blurred by a Gaussian
   point-spread function and sampled on camera pixels, in grey as a camera shows it.

Nothing is kept in module-level state: every :class:`Explorer` holds its own dataset,
controls, run and last figure.

Example (in JupyterLab or Jupyter Notebook, where widgets are live)::

    from dmilib.explorer import explore
    explore("data/quick.zarr", run="results/quick/inference-mz-blur300nm-px35nm")
"""

from __future__ import annotations

import functools
import html
import io
import math
import re
import tempfile
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

__all__ = [
    "DEFAULT_PIXELATIONS",
    "DEFAULT_KERR_BLUR_FWHM_M",
    "DEFAULT_KERR_PIXEL_SIZE_M",
    "Explorer",
    "explore",
    "explorer_still",
    "find_sample",
    "film_label",
]

DEFAULT_PIXELATIONS = (5, 10)
"""Study pixelations ``b`` shown (paper Fig. 6: 2, 5, 10, 20), on the full-resolution cells."""

DEFAULT_KERR_BLUR_FWHM_M = 300e-9
"""FWHM of the Kerr panel's point-spread function (diffraction-limited optics: 300-500 nm)."""

DEFAULT_KERR_PIXEL_SIZE_M = 35e-9
"""Camera pixel of the Kerr panel (raised to the store's cell size if smaller)."""

_UPLOAD_EXTENSIONS = (".png", ".tif", ".tiff", ".npy", ".ovf")
_ARROWS_ACROSS = 16
_PANEL_IN = 3.0


# --------------------------------------------------------------------------------------
# Samples and labels
# --------------------------------------------------------------------------------------


def _open(dataset):
    from .dataset import Dataset

    return dataset if isinstance(dataset, Dataset) else Dataset(dataset)


def _labels(dataset) -> dict:
    return {name: dataset.array(name) for name in ("D_J_per_m2", "Hz_T", "tessellation")} | {"valid": dataset.valid}


def _tessellation_value(tessellation) -> int:
    if isinstance(tessellation, str):
        if tessellation.strip().lower() in ("uniform", "-1"):
            return -1
        raise ValueError(f"tessellation must be 'uniform', -1 or a tessellation seed (int), got {tessellation!r}")
    if isinstance(tessellation, bool) or not isinstance(tessellation, (int, np.integer)):
        raise ValueError(f"tessellation must be 'uniform', -1 or a tessellation seed (int), got {tessellation!r}")
    return int(tessellation)


def film_label(tessellation: int) -> str:
    """``"uniform film"`` for -1, ``"grains (tessellation 3)"`` for a seed."""
    return "uniform film" if int(tessellation) < 0 else f"grains (tessellation {int(tessellation)})"


def find_sample(dataset, D, Hz, tessellation) -> int | None:
    """Index of the valid sample with these labels (D in J/m^2, Hz in T), or None.

    Parameters
    ----------
    dataset : Dataset or path
    D : float
        D in J/m^2 (matched within 1e-9 by :meth:`Dataset.find`).
    Hz : float
        mu0 Hz in tesla.
    tessellation : int or "uniform"
        -1 or ``"uniform"`` for a uniform film, else the tessellation seed.
    """
    dataset = _open(dataset)
    D, Hz = float(D), float(Hz)
    try:
        return dataset.find(D, Hz, _tessellation_value(tessellation), D_tolerance_J_per_m2=1e-9, Hz_tolerance_T=1e-9)
    except ValueError:  # no stored sample at these slider values
        return None


def _available(labels: dict, tessellation: int) -> str:
    keep = labels["valid"] & (labels["tessellation"] == tessellation)
    values = np.unique(np.round(labels["D_J_per_m2"][keep] * 1e3, 6))
    if not values.size:
        return f"no valid sample with {film_label(tessellation)}"
    return f"stored D for {film_label(tessellation)}: {', '.join(f'{v:g}' for v in values)} mJ/m²"


# --------------------------------------------------------------------------------------
# Panels
# --------------------------------------------------------------------------------------


def _reduction(dataset) -> int:
    """Block size ``r`` a reduced store was averaged by (1 for a full-resolution store)."""
    reduced = dataset.attrs.get("reduced_from") or {}
    try:
        return max(1, int(reduced.get("pixelation", 1)))
    except (TypeError, ValueError):
        return 1


def _pixelated(m: np.ndarray, mask: np.ndarray, cell_m: float, factor: float):
    """``m`` and ``mask`` averaged over ``factor`` store cells (block average when integer)."""
    from .degrade import pixelate, resample

    if math.isclose(factor, round(factor), rel_tol=0, abs_tol=1e-9):
        k = int(round(factor))
        return pixelate(m, k), pixelate(mask.astype(np.float32), k) > 0, cell_m * k
    pixel = cell_m * factor
    return resample(m, cell_m, pixel), resample(mask.astype(np.float32), cell_m, pixel) > 0, pixel


def _panel_data(dataset, index: int, pixelations, kerr_blur_fwhm_m: float, kerr_pixel_size_m: float) -> list[dict]:
    from .degrade import kerr_image
    from .simulate.geometry import Grid

    grid = dataset.grid
    cell = float(grid.dx)
    reduction = _reduction(dataset)
    base = cell / reduction
    m = dataset.magnetization(index)[0]
    mask = dataset.mask.astype(bool)
    panels = [{"kind": "m", "m": m, "grid": grid,
               "title": f"simulation ({cell * 1e9:.3g} nm cells)"}]
    for b in pixelations:
        factor = b / reduction
        if factor < 1 - 1e-9:
            panels.append({"kind": "note", "title": f"b = {b}",
                           "text": f"finer than this store\n(cells already {reduction} x {reduction} averages)"})
            continue
        mp, maskp, pixel = _pixelated(m, mask, cell, factor)
        if not maskp.any() or min(maskp.shape) < 2:
            panels.append({"kind": "note", "title": f"b = {b}", "text": "too coarse for this grid"})
            continue
        pgrid = Grid(maskp.shape[1], maskp.shape[0], (pixel, pixel), grid.thickness_m, maskp)
        panels.append({"kind": "m", "m": mp, "grid": pgrid, "title": f"b = {b} ({pixel * 1e9:.3g} nm pixels)"})
    camera = max(float(kerr_pixel_size_m), cell)
    kerr = kerr_image(m, cell, "mz", blur_fwhm_m=float(kerr_blur_fwhm_m), pixel_size_m=camera)
    half_x, half_y = kerr.shape[1] * camera * 1e9 / 2, kerr.shape[0] * camera * 1e9 / 2
    panels.append({"kind": "kerr", "image": kerr, "extent": (-half_x, half_x, -half_y, half_y),
                   "title": f"Kerr: blur {kerr_blur_fwhm_m * 1e9:.0f} nm, {camera * 1e9:.3g} nm pixels"})
    return panels


def _draw(panels: list[dict], suptitle: str) -> Figure:
    from .plotting import plot_mz_with_arrows

    fig = Figure(figsize=(_PANEL_IN * len(panels) + 1.2, _PANEL_IN + 0.6), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    mz_axes, mz_image, kerr_axes, kerr_image_ = [], None, None, None
    for ax, panel in zip(axes, panels, strict=True):
        if panel["kind"] == "m":
            grid = panel["grid"]
            stride = max(1, int(round(max(grid.nx, grid.ny) / _ARROWS_ACROSS)))
            plot_mz_with_arrows(panel["m"], grid, ax=ax, stride=stride, colorbar=False)
            mz_axes.append(ax)
            mz_image = ax.images[0]
        elif panel["kind"] == "kerr":
            kerr_image_ = ax.imshow(panel["image"], cmap="gray", vmin=-1.0, vmax=1.0, origin="lower",
                                    extent=panel["extent"], interpolation="nearest")
            ax.set_aspect("equal")
            ax.set_xlabel("x (nm)")
            kerr_axes = ax
        else:
            ax.text(0.5, 0.5, panel["text"], ha="center", va="center", transform=ax.transAxes, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        ax.set_title(panel["title"], fontsize=9)
        if ax is not axes[0]:
            ax.set_ylabel("")
    if mz_image is not None:
        fig.colorbar(mz_image, ax=mz_axes, label="$m_z$", shrink=0.8)
    if kerr_image_ is not None:
        fig.colorbar(kerr_image_, ax=kerr_axes, label="Kerr signal ($m_z$ units)", shrink=0.8)
    fig.suptitle(suptitle, fontsize=10)
    return fig


def _suptitle(labels: dict, index: int) -> str:
    return (f"sample {index}: D = {labels['D_J_per_m2'][index] * 1e3:.3g} mJ/m², "
            f"$\\mu_0H_z$ = {labels['Hz_T'][index] * 1e3:.3g} mT, {film_label(labels['tessellation'][index])}")


def explorer_still(dataset, D, Hz, tessellation="uniform", *, pixelations=DEFAULT_PIXELATIONS,
                   kerr_blur_fwhm_m: float = DEFAULT_KERR_BLUR_FWHM_M,
                   kerr_pixel_size_m: float = DEFAULT_KERR_PIXEL_SIZE_M) -> Figure:
    """The explorer's panels for one stored sample, as a static figure.

    Parameters
    ----------
    dataset : Dataset or path
        A dataset store.
    D : float
        D in J/m^2 (one of the stored values).
    Hz : float
        mu0 Hz in tesla (one of the stored values).
    tessellation : int or "uniform"
        ``"uniform"`` or -1 for a uniform film, else a tessellation seed.
    pixelations : sequence of int
        Study pixelations ``b`` of the middle panels (on full-resolution cells).
    kerr_blur_fwhm_m, kerr_pixel_size_m : float
        Point-spread FWHM and camera pixel of the Kerr panel, in metres.

    Returns
    -------
    matplotlib.figure.Figure
        ``2 + len(pixelations)`` titled panels (simulation, one per ``b``, Kerr) and their
        colour bars; the suptitle names the sample and its labels.

    Raises
    ------
    ValueError
        If no valid sample has these labels (the message lists the stored D values).
    """
    dataset = _open(dataset)
    tessellation = _tessellation_value(tessellation)
    index = find_sample(dataset, D, Hz, tessellation)
    labels = _labels(dataset)
    if index is None:
        raise ValueError(f"no valid sample with D = {float(D) * 1e3:g} mJ/m², mu0 Hz = {float(Hz) * 1e3:g} mT and "
                         f"{film_label(tessellation)} in {dataset.path}; {_available(labels, tessellation)}")
    panels = _panel_data(dataset, index, tuple(pixelations), kerr_blur_fwhm_m, kerr_pixel_size_m)
    return _draw(panels, _suptitle(labels, index))


# --------------------------------------------------------------------------------------
# The widget
# --------------------------------------------------------------------------------------


def _figure_png(fig: Figure, dpi: int = 80) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _safe_name(name: str) -> str:
    base = Path(str(name)).name or "upload"
    return re.sub(r"[^A-Za-z0-9._-]", "_", base)


def _run_defaults(run) -> tuple[float | None, str | None]:
    """(model input pixel in m, component) of a run folder or LoadedRun, without loading Keras."""
    from .learn.artifacts import LoadedRun, read_run_info

    try:
        info = run.info if isinstance(run, LoadedRun) else read_run_info(run)
    except ValueError:
        return None, None
    pixel = info.get("input_pixel_size_m")
    component = (info.get("degradation") or {}).get("component")
    return (None if pixel is None else float(pixel)), component


@functools.cache
def _explorer_class():
    """The Explorer class, made on first use so that importing this module needs no ipywidgets."""
    import ipywidgets as widgets

    class Explorer(widgets.VBox):
        """The explorer widget (a VBox); build it with :func:`explore`.

        Attributes
        ----------
        dataset : dmilib.dataset.Dataset
        film, D_slider, Hz_slider, blur_slider : ipywidgets controls
            Film (uniform or tessellation seed), D (J/m^2 values, mJ/m^2 labels), mu0 Hz
            (tesla values, mT labels) and the Kerr panel's blur FWHM in nm.
        status : ipywidgets.HTML
            The selected sample and its labels (or why there is none).
        panels : ipywidgets.Output
            The figure, from :func:`ipywidgets.interactive_output`.
        sample_index : int or None
            The sample shown.
        figure : matplotlib.figure.Figure or None
            The last figure drawn.
        upload, pixel_size_nm, component, result : ipywidgets
            The file upload, the uploaded image's pixel size (nm) and component, and the
            prediction (or a message).
        predictions : list of dmilib.infer.Prediction
            Of the last upload.
        """

        def __init__(self, dataset, run=None, *, pixelations=DEFAULT_PIXELATIONS,
                     kerr_blur_fwhm_m=DEFAULT_KERR_BLUR_FWHM_M, kerr_pixel_size_m=DEFAULT_KERR_PIXEL_SIZE_M):
            super().__init__()
            self.dataset = _open(dataset)
            self.run = run
            self._loaded_run = None
            self._pixelations = tuple(int(b) for b in pixelations)
            self._kerr_pixel_size_m = float(kerr_pixel_size_m)
            self._labels = _labels(self.dataset)
            self._cache: tuple | None = None
            self.sample_index: int | None = None
            self.figure: Figure | None = None
            self.predictions: list = []

            labels = self._labels
            valid = labels["valid"]
            if not valid.any():
                raise ValueError(f"{self.dataset.path} has no valid sample to explore")
            films = sorted({int(t) for t in labels["tessellation"][valid]})
            style = {"description_width": "90px"}
            wide = widgets.Layout(width="420px")
            self.film = widgets.Dropdown(options=[(film_label(t), t) for t in films], value=films[0],
                                         description="film", style=style)
            self.D_slider = widgets.SelectionSlider(options=self._D_options(films[0]), description="D (mJ/m²)",
                                                    style=style, layout=wide, continuous_update=False)
            hz_values = sorted({float(h) for h in labels["Hz_T"][valid]}, key=abs)
            self.Hz_slider = widgets.SelectionSlider(options=[(f"{h * 1e3:g}", h) for h in hz_values],
                                                     description="μ0Hz (mT)", style=style, layout=wide,
                                                     continuous_update=False)
            self.blur_slider = widgets.FloatSlider(value=float(kerr_blur_fwhm_m) * 1e9, min=0.0, max=600.0,
                                                   step=25.0, description="Kerr blur (nm)", style=style,
                                                   layout=wide, continuous_update=False)
            self.status = widgets.HTML()
            # Registered before interactive_output, so the D options follow the film first.
            self.film.observe(self._on_film, names="value")
            self.panels = widgets.interactive_output(self._show, {
                "D": self.D_slider, "Hz": self.Hz_slider, "tessellation": self.film, "blur_nm": self.blur_slider})

            pixel, component = _run_defaults(run) if run is not None else (None, None)
            self.pixel_size_nm = widgets.BoundedFloatText(
                value=round((pixel or self._kerr_pixel_size_m) * 1e9, 6), min=0.0, max=1e5, step=1.0,
                description="pixel (nm)", style=style)
            self.component = widgets.Dropdown(options=["mz", "mx", "my"],
                                              value=component if component in ("mx", "my", "mz") else "mz",
                                              description="component", style=style)
            self.upload = widgets.FileUpload(accept=",".join(_UPLOAD_EXTENSIONS), multiple=False,
                                             description="image")
            self.upload.observe(self._on_upload, names="value")
            self.result = widgets.HTML(value=self._idle_message())
            self.result_image = widgets.Image(format="png", layout=widgets.Layout(max_width="360px"))
            help_text = widgets.HTML(
                "<b>Infer D from your own image</b>: one bubble near the centre, the pixel size known, a field of "
                "view at least half the model's. Camera files (.png, .tif) and 2-D .npy need the pixel size and "
                "the component (polar Kerr: m<sub>z</sub>); .ovf files carry their own cell size.")
            self.children = [
                widgets.HTML("<b>Stored samples</b> (sliders need a live kernel)"),
                widgets.HBox([self.film, self.Hz_slider]),
                widgets.HBox([self.D_slider, self.blur_slider]),
                self.status, self.panels, help_text,
                widgets.HBox([self.upload, self.pixel_size_nm, self.component]),
                self.result, self.result_image,
            ]

        # ---- stored samples -------------------------------------------------------------

        def _D_options(self, tessellation: int) -> list[tuple[str, float]]:
            labels = self._labels
            keep = labels["valid"] & (labels["tessellation"] == tessellation)
            values = sorted({float(d) for d in labels["D_J_per_m2"][keep]})
            return [(f"{d * 1e3:.3g}", d) for d in values]

        def _on_film(self, change) -> None:
            current = self.D_slider.value
            options = self._D_options(int(change["new"]))
            nearest = min((d for _, d in options), key=lambda d: abs(d - current))
            self.D_slider.options = options
            self.D_slider.value = nearest

        def _show(self, D, Hz, tessellation, blur_nm) -> None:
            from IPython.display import Image, display

            index = find_sample(self.dataset, D, Hz, tessellation)
            self.sample_index = index
            if index is None:
                self.figure = None
                self.status.value = html.escape(
                    f"no valid sample with D = {D * 1e3:g} mJ/m², μ0Hz = {Hz * 1e3:g} mT, {film_label(tessellation)}; "
                    f"{_available(self._labels, int(tessellation))}")
                return
            key = (index, float(blur_nm))
            if self._cache is None or self._cache[0] != key:
                panels = _panel_data(self.dataset, index, self._pixelations, float(blur_nm) * 1e-9,
                                     self._kerr_pixel_size_m)
                figure = _draw(panels, _suptitle(self._labels, index))
                self._cache = (key, figure, _figure_png(figure))
            _, self.figure, png = self._cache
            self.status.value = html.escape(_suptitle(self._labels, index).replace("$\\mu_0H_z$", "μ0Hz"))
            display(Image(data=png, format="png"))

        # ---- upload ---------------------------------------------------------------------

        def _idle_message(self) -> str:
            if self.run is None:
                return ("<i>No trained run given: uploads cannot be analysed. Call "
                        "<code>explore(dataset, run='results/quick/inference-...')</code> with a run folder of "
                        "<code>dmilib train</code>.</i>")
            return f"<i>Model: {html.escape(str(getattr(self.run, 'path', self.run)))}</i>"

        def _loaded(self):
            from .learn.artifacts import LoadedRun, load_run

            if self._loaded_run is None:
                self._loaded_run = self.run if isinstance(self.run, LoadedRun) else load_run(self.run)
            return self._loaded_run

        def _on_upload(self, change) -> None:
            files = change["new"]
            if files:
                self.handle_upload(files)

        def handle_upload(self, files) -> str:
            """Predict D for uploaded files (ipywidgets 8 ``FileUpload.value``: dicts with
            ``name`` and ``content``); show and return the message."""
            from .infer import format_prediction, predict_images, read_image

            self.predictions = []
            self.result_image.value = b""
            if isinstance(files, dict):  # ipywidgets 7 layout: {name: {"content": ...}}
                files = [dict(item, name=item.get("name", name)) for name, item in files.items()]
            files = list(files)
            if self.run is None:
                message = ("No trained run was given, so the upload cannot be analysed: call "
                           "explore(dataset, run=RUN_FOLDER) with a folder written by `dmilib train` "
                           "(e.g. the chapter's results/quick/inference-...).")
                self.result.value = f"<b>{html.escape(message)}</b>"
                return message
            pixel_nm = float(self.pixel_size_nm.value)
            lines, html_lines = [], []
            for item in files:
                name = _safe_name(item.get("name", "upload"))
                with tempfile.TemporaryDirectory(prefix="dmilib-upload-") as folder:
                    path = Path(folder) / name
                    try:
                        path.write_bytes(bytes(item["content"]))
                        image = read_image(path, pixel_size_m=pixel_nm * 1e-9 if pixel_nm > 0 else None,
                                           component=self.component.value)
                        (prediction,) = predict_images([image], self._loaded())
                    except (ValueError, KeyError, TypeError, OSError) as error:
                        text = f"{name}: could not predict: {str(error).replace(str(path), name)}"
                        lines.append(text)
                        html_lines.append(f"<b>{html.escape(text)}</b>")
                        continue
                prediction.path = name
                prediction.notes = [note.replace(str(path), name) for note in prediction.notes]
                self.predictions.append(prediction)
                self._show_input(image, name)
                lines.append(format_prediction(prediction))
                notes = "".join(f"<li>{html.escape(note)}</li>" for note in prediction.notes)
                html_lines.append(f"<b>{html.escape(format_prediction(prediction))}</b>"
                                  + (f"<ul>{notes}</ul>" if notes else ""))
            self.result.value = "<br>".join(html_lines)
            return "\n".join(lines)

        def _show_input(self, image, name: str) -> None:
            array = image.array if image.kind == "scalar" else image.array[2]
            fig = Figure(figsize=(3.4, 3.0), layout="constrained")
            ax = fig.add_subplot()
            half_x = array.shape[1] * image.pixel_size_m * 1e9 / 2
            half_y = array.shape[0] * image.pixel_size_m * 1e9 / 2
            shown = ax.imshow(array, cmap="gray" if image.kind == "scalar" else "RdBu_r", vmin=-1, vmax=1,
                              origin="upper" if image.kind == "scalar" else "lower",
                              extent=(-half_x, half_x, -half_y, half_y), interpolation="nearest")
            ax.set_title(f"{name} as read", fontsize=9)
            ax.set_xlabel("x (nm)")
            fig.colorbar(shown, ax=ax, label="m_z" if image.kind == "vector" else image.component, shrink=0.8)
            self.result_image.value = _figure_png(fig)

    Explorer.__qualname__ = "Explorer"
    Explorer.__module__ = __name__
    return Explorer


def explore(dataset, run=None, *, pixelations=DEFAULT_PIXELATIONS, kerr_blur_fwhm_m: float = DEFAULT_KERR_BLUR_FWHM_M,
            kerr_pixel_size_m: float = DEFAULT_KERR_PIXEL_SIZE_M):
    """An ipywidgets explorer of a dataset store, with inference from an uploaded image.

    Parameters
    ----------
    dataset : Dataset or path
        The store to explore.
    run : str, Path or LoadedRun, optional
        A run folder of ``dmilib train`` (or a loaded run). With it, an uploaded image is
        analysed by :func:`dmilib.infer.predict_images`; without it the upload shows a message
        saying a run is needed. Loaded (Keras) at the first upload only.
    pixelations : sequence of int
        Study pixelations ``b`` of the middle panels (on full-resolution cells).
    kerr_blur_fwhm_m, kerr_pixel_size_m : float
        Initial blur (a slider changes it) and the camera pixel of the Kerr panel, in metres.

    Returns
    -------
    Explorer
        An :class:`ipywidgets.VBox`: display it in a notebook with a live kernel. Its
        attributes (``D_slider``, ``Hz_slider``, ``film``, ``sample_index``, ``figure``,
        ``handle_upload``, ...) also let code drive it.
    """
    return _explorer_class()(dataset, run, pixelations=pixelations, kerr_blur_fwhm_m=kerr_blur_fwhm_m,
                             kerr_pixel_size_m=kerr_pixel_size_m)


def __getattr__(name):
    # ``dmilib.explorer.Explorer`` without importing ipywidgets at module import.
    if name == "Explorer":
        return _explorer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
