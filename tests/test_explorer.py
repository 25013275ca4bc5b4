"""The ipywidgets explorer (dmilib.explorer) on the shipped quick dataset, without a kernel.

The widget is driven programmatically: sliders are moved by setting their ``value`` (which
fires the same observers as a user's drag), and uploads are ipywidgets 8 ``FileUpload``
values (a tuple of dicts with ``name``, ``type``, ``size``, ``content``, ``last_modified``).
"""

import datetime
import io
import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

widgets = pytest.importorskip("ipywidgets")

from matplotlib.figure import Figure  # noqa: E402

from dmilib.dataset import Dataset  # noqa: E402
from dmilib.explorer import explore, explorer_still, find_sample  # noqa: E402

# Keras backends convert tensors with np.array(x), which NumPy >= 2.3 flags on every save.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _payload(name: str, content: bytes, kind: str = "image/png") -> dict:
    return {"name": name, "type": kind, "size": len(content), "content": memoryview(content),
            "last_modified": datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)}


@pytest.fixture(scope="module")
def dataset(quick_dataset_path):
    return Dataset(quick_dataset_path)


@pytest.fixture(scope="module")
def tiny_run(quick_dataset_path, tmp_path_factory):
    """An mz run at pixelation 2 (35 nm pixels on the 17.5 nm cells): 1 seed, 2 epochs."""
    pytest.importorskip("keras")
    from dmilib.degrade import Degradation
    from dmilib.learn.experiment import ExperimentConfig, run_experiment

    out = tmp_path_factory.mktemp("explorer_run") / "run"
    config = ExperimentConfig((str(quick_dataset_path),), split="grouped", degradation=Degradation(
        component="mz", pixelation=2), seeds=(0,), epochs=2)
    run_experiment(config, out, progress=False)
    return out


@pytest.fixture(scope="module")
def kerr_png(dataset):
    PIL_Image = pytest.importorskip("PIL.Image")
    from dmilib.degrade import kerr_image, to_uint8

    index = find_sample(dataset, 0.6e-3, -8e-3, "uniform")
    image = kerr_image(dataset.magnetization(index)[0], float(dataset.grid.dx), "mz", blur_fwhm_m=50e-9,
                       pixel_size_m=35e-9)
    buffer = io.BytesIO()
    PIL_Image.fromarray(to_uint8(image), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def test_sliders_select_the_stored_sample(dataset):
    explorer = explore(dataset)
    assert isinstance(explorer, widgets.VBox)
    labels = {name: dataset.array(name) for name in ("D_J_per_m2", "Hz_T", "tessellation")}

    def shown_labels():
        i = explorer.sample_index
        return labels["D_J_per_m2"][i], labels["Hz_T"][i], labels["tessellation"][i]

    first = explorer.sample_index
    assert first is not None and explorer.figure is not None
    assert shown_labels() == pytest.approx((explorer.D_slider.value, explorer.Hz_slider.value, -1))
    status = explorer.status.value

    explorer.Hz_slider.value = -10e-3
    assert explorer.sample_index != first
    assert shown_labels() == pytest.approx((explorer.D_slider.value, -10e-3, -1))
    assert explorer.status.value != status and "-10 mT" in explorer.status.value

    explorer.D_slider.value = explorer.D_slider.options[-1][1]  # the largest stored D
    assert labels["D_J_per_m2"][explorer.sample_index] == pytest.approx(1e-3)

    # The grains film: D offers only the values stored for it, the nearest is kept.
    explorer.film.value = 0
    stored = sorted({float(d) for d in labels["D_J_per_m2"][labels["tessellation"] == 0]})
    assert [value for _, value in explorer.D_slider.options] == pytest.approx(stored)
    assert shown_labels() == pytest.approx((1e-3, -10e-3, 0))
    assert "grains (tessellation 0)" in explorer.status.value

    # The blur slider redraws the Kerr panel only.
    before = explorer.figure
    explorer.blur_slider.value = 100.0
    assert explorer.figure is not before
    assert "blur 100 nm" in explorer.figure.axes[3].get_title()


def test_upload_without_run_gives_a_clear_message(dataset, kerr_png):
    explorer = explore(dataset)
    assert "No trained run" in explorer.result.value
    explorer.upload.value = (_payload("kerr.png", kerr_png),)  # fires the observer
    assert explorer.predictions == []
    assert "No trained run was given" in explorer.result.value and "run=" in explorer.result.value
    assert "No trained run was given" in explorer.handle_upload((_payload("kerr.png", kerr_png),))


def test_upload_with_run_predicts(dataset, tiny_run, kerr_png):
    explorer = explore(dataset, run=tiny_run)
    # Defaults from the run: its input pixel (35 nm) and component.
    assert explorer.pixel_size_nm.value == pytest.approx(35.0)
    assert explorer.component.value == "mz"

    explorer.upload.value = (_payload("kerr.png", kerr_png),)
    (prediction,) = explorer.predictions
    assert math.isfinite(prediction.D_J_per_m2) and prediction.n_models == 1
    assert prediction.path == "kerr.png" and prediction.kind == "scalar"
    assert "kerr.png  D = " in explorer.result.value and "(1 model)" in explorer.result.value
    assert explorer.result_image.value[:8] == b"\x89PNG\r\n\x1a\n"  # the image as read
    assert "dmilib-upload" not in explorer.result.value  # no temporary paths shown

    # The same image with a far too small pixel size (a 115 nm field of view): a message, no exception.
    explorer.pixel_size_nm.value = 5.0
    message = explorer.handle_upload([_payload("kerr.png", kerr_png)])
    assert explorer.predictions == []
    assert message.startswith("kerr.png: could not predict:") and "field of view" in message
    # An unsupported file type.
    explorer.pixel_size_nm.value = 35.0
    message = explorer.handle_upload([_payload("notes.txt", b"hello", "text/plain")])
    assert "could not predict" in message and "unsupported file type" in message


def test_upload_of_a_vector_npy(dataset, tiny_run):
    explorer = explore(dataset, run=tiny_run)
    index = find_sample(dataset, 0.4e-3, -7e-3, "uniform")
    buffer = io.BytesIO()
    np.save(buffer, dataset.magnetization(index)[0])
    explorer.pixel_size_nm.value = float(dataset.grid.dx) * 1e9
    explorer.handle_upload([_payload("m.npy", buffer.getvalue(), "application/octet-stream")])
    (prediction,) = explorer.predictions
    assert prediction.kind == "vector" and math.isfinite(prediction.D_J_per_m2)


def test_explorer_still_panels(dataset):
    fig = explorer_still(dataset, 0.6e-3, -8e-3, "uniform")
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["simulation (17.5 nm cells)", "b = 5 (17.5 nm pixels)", "b = 10 (35 nm pixels)",
                      "Kerr: blur 300 nm, 35 nm pixels"]
    index = find_sample(dataset, 0.6e-3, -8e-3, -1)
    assert f"sample {index}" in fig.get_suptitle() and "0.6 mJ/m²" in fig.get_suptitle()
    # m_z panels carry arrows (a quiver), the Kerr panel a grey image.
    assert all(ax.collections for ax in fig.axes[:3])
    assert fig.axes[3].images[0].get_cmap().name == "gray"

    coarse = explorer_still(dataset, 0.5e-3, -6e-3, 0, pixelations=(2,), kerr_blur_fwhm_m=0.0)
    titles = [ax.get_title() for ax in coarse.axes if ax.get_title()]
    assert titles[1] == "b = 2"  # finer than the 5x-reduced store: a note instead of an image
    assert len(titles) == 3

    with pytest.raises(ValueError, match="stored D for grains"):
        explorer_still(dataset, 0.2e-3, -8e-3, 0)  # the tessellation has D = 0, 0.5, 1 only
