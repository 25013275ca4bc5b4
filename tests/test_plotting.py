"""Figures of magnetization states: layout, masking, colour limits and argument checks."""

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from dmilib.plotting import plot_components, plot_mz_with_arrows
from dmilib.simulate import Grid
from dmilib.simulate.textures import bubble


@pytest.fixture(scope="module")
def grid():
    return Grid.disk(120e-9, 3e-9, 12e-9)  # 40 x 40 cells


@pytest.fixture(scope="module")
def state(grid):
    return bubble(grid, radius_m=30e-9)


def render(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    assert buffer.tell() > 0


@pytest.mark.parametrize("count", [1, 2])
def test_components_layout_mask_and_limits(grid, state, count):
    m = np.stack([state] * count)
    fig = plot_components(m, grid, row_labels=[f"row {b}" for b in range(count)])
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3 * count + 1  # three panels per row + one colour bar
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 3 * count
    for image in images:
        assert image.get_clim() == (-1.0, 1.0)
        assert image.get_cmap().name == "RdBu_r"
        data = image.get_array()
        np.testing.assert_array_equal(np.ma.getmaskarray(data), ~grid.mask)
    # Rows are the states, columns m_x, m_y, m_z (origin="lower": row 0 is y = 0).
    np.testing.assert_allclose(images[2].get_array().filled(0), state[2])
    colorbar_axes = fig.axes[-1]
    assert colorbar_axes.get_ylabel() == "m component"
    assert fig.axes[0].get_title() == "$m_x$"
    assert fig.axes[0].get_ylabel().startswith("row 0")
    # Axes in nm, centred on the grid: a 120 nm disk spans -60..60 nm.
    np.testing.assert_allclose(images[0].get_extent(), (-60, 60, -60, 60))
    render(fig)


def test_components_accepts_single_state_and_zoom(grid, state):
    fig = plot_components(state, grid, zoom_m=15e-9)
    assert len(fig.axes) == 4
    image = fig.axes[2].images[0]
    assert image.get_array().shape == (10, 10)  # cells with centres within +-15 nm
    np.testing.assert_allclose(image.get_extent(), (-15, 15, -15, 15))
    render(fig)


def test_mz_with_arrows(grid, state):
    ax = plot_mz_with_arrows(state, grid, stride=4)
    image = ax.images[0]
    assert image.get_clim() == (-1.0, 1.0)
    np.testing.assert_array_equal(np.ma.getmaskarray(image.get_array()), ~grid.mask)
    assert len(ax.collections) >= 1  # the quiver (plus the mask outline)
    assert len(ax.figure.axes) == 2  # axes + colour bar
    render(ax.figure)


def test_mz_with_arrows_into_given_axes(grid, state):
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_mz_with_arrows(state[None], grid, ax=ax, colorbar=False, zoom_m=20e-9, centre_m=(20e-9, 0)) is ax
    assert len(fig.axes) == 1
    render(fig)


@pytest.mark.parametrize(
    "shape",
    [(40, 40), (2, 40, 40), (2, 2, 40, 40), (1, 3, 40, 41), (3, 40), (1, 1, 3, 40, 40)],
)
def test_bad_shapes_raise(grid, shape):
    with pytest.raises(ValueError, match="m must have shape"):
        plot_components(np.zeros(shape), grid)
    with pytest.raises(ValueError, match="m must"):
        plot_mz_with_arrows(np.zeros(shape), grid)


def test_bad_arguments_raise(grid, state):
    with pytest.raises(ValueError, match="titles"):
        plot_components(state, grid, titles=["a", "b"])
    with pytest.raises(ValueError, match="row_labels"):
        plot_components(np.stack([state] * 2), grid, row_labels=["only one"])
    with pytest.raises(ValueError, match="zoom_m"):
        plot_components(state, grid, zoom_m=-1e-9)
    with pytest.raises(ValueError, match="single state"):
        plot_mz_with_arrows(np.stack([state] * 2), grid)
    with pytest.raises(ValueError, match="stride"):
        plot_mz_with_arrows(state, grid, stride=0)


def test_pixelation_schematic_columns_and_pixel_sizes(grid, state):
    from dmilib.plotting import plot_pixelation_schematic

    figure = plot_pixelation_schematic(state, grid, [1, 4], zoom_nm=30.0, zoom_centre_nm=(40.0, 0.0))
    panels = [ax for ax in figure.axes if ax.get_title() or ax.get_ylabel() or ax.images]
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    # 40 x 40 cells of 3 nm: b = 4 gives 12 nm pixels, 10 x 10 of them.
    assert titles == ["b = 1: 3 nm\n40 x 40 pixels", "b = 4: 12 nm\n10 x 10 pixels"]
    assert sum(1 for ax in panels if ax.images) == 6
    zoomed = figure.axes[5]  # third row, second column
    assert zoomed.get_xlim() == pytest.approx((10.0, 70.0))
    with pytest.raises(ValueError, match="pixelations"):
        plot_pixelation_schematic(state, grid, [])


def test_noise_schematic_shows_four_versions_of_two_components(grid, state):
    from dmilib.plotting import plot_noise_schematic

    figure = plot_noise_schematic(state, grid, sigma=0.1, pixelation=2)
    images = [ax.images[0].get_array() for ax in figure.axes if ax.images]
    assert len(images) == 8
    clean, noisy, noise_then_b = images[0], images[1], images[2]
    # Noise of sigma per cell, and sigma / b after averaging b x b independent cells.
    assert np.std(noisy - clean) == pytest.approx(0.1, rel=0.1)
    assert noise_then_b.shape == (grid.ny // 2, grid.nx // 2)


def test_reliability_plot_shows_measured_against_nominal_coverage_with_the_diagonal():
    from dmilib.plotting import plot_reliability

    # Calibration residuals 0.1 .. 1.0 and test residuals 0.05 .. 0.95 (mJ/m2): at level 1 - a the
    # half-width is the ceil(11 (1 - a))-th smallest calibration residual; count the test ones within.
    calibration = np.arange(1, 11) / 10
    test = np.arange(1, 11) / 10 - 0.05
    points = []
    for alpha in (0.5, 0.4, 0.3, 0.2, 0.1, 0.05):
        rank = int(np.ceil(round(11 * (1 - alpha), 9)))
        half = calibration[rank - 1] if rank <= 10 else None
        points.append({"alpha": alpha, "nominal": 1 - alpha, "half_width": half,
                       "coverage": None if half is None else float(np.mean(test <= half))})
    info = {"conformal": {"alpha": 0.1, "n_test_images": 10, "n_calibration_images": 10,
                          "test_coverage": points[4]["coverage"], "reliability": points}}
    fig = plot_reliability({"toy": info}, caption="dataset: toy; split: grouped; seeds 0..1 (2) x 3 epochs")
    (axes,) = fig.axes
    lines = {line.get_label(): line for line in axes.lines}
    np.testing.assert_allclose(lines["ideal"].get_xydata(), [[0, 0], [1, 1]])
    curve = next(line for label, line in lines.items() if label.startswith("toy"))
    # 95 % needs rank 11 > 10 residuals: no finite interval, no point.
    np.testing.assert_allclose(curve.get_xdata(), [0.5, 0.6, 0.7, 0.8, 0.9])
    np.testing.assert_allclose(curve.get_ydata(), [0.6, 0.7, 0.8, 0.9, 1.0])
    assert any("seeds 0..1" in text.get_text() for text in fig.texts)
    render(fig)
    with pytest.raises(ValueError, match="no calibration"):
        plot_reliability({"plain": {"conformal": None}})


def test_flag_examples_figure_shows_each_image_with_its_answer():
    from dmilib.infer import Prediction
    from dmilib.plotting import plot_flag_examples

    def answer(D, flags):
        return Prediction(path="x", D_J_per_m2=D, interval_90_J_per_m2=None, seed_spread_J_per_m2=None,
                          per_model_J_per_m2=[], seeds=[0], input_pixel_size_m=35e-9,
                          model_input_pixel_size_m=35e-9, kind="scalar", component="mz", run="r", notes=[],
                          flags=flags)

    images = {"one": np.zeros((4, 6)), "two": np.ones((8, 8))}
    predictions = {"one": answer(0.3e-3, []), "two": answer(None, ["constant: flat", "no_bubble: none"])}
    fig = plot_flag_examples(images, predictions, 35e-9)
    assert len(fig.axes) == 2
    first, second = fig.axes
    assert first.get_title() == "one\nD = 0.30 mJ/m²\nno flag"
    assert second.get_title() == "two\nno D\nconstant, no_bubble"
    # 6 x 4 pixels of 35 nm: 210 nm wide, 140 nm high; 8 x 8 pixels: 280 nm.
    assert first.images[0].get_extent() == pytest.approx([0, 210, 140, 0])
    assert second.images[0].get_extent() == pytest.approx([0, 280, 280, 0])
    render(fig)
    with pytest.raises(ValueError, match="same images"):
        plot_flag_examples(images, {"one": predictions["one"]}, 35e-9)
