"""Fig. 2 and the dataset statistics from a real `tiny` store: panels, titles with the stored
labels actually shown, the grain-boundary overlay, and the ValueError cases.

The `tiny` store (generated once per module, ~10 s) has uniform runs at D = 0 (collapsed,
invalid), 0.9 and 1.0 mJ/m² and one Voronoi run (seed 0) at 1.0 mJ/m², each with snapshots
at Hz = -6, -8, -10 mT and Hx = 100 mT.
"""

import io
import shutil

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import zarr
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.quiver import Quiver

from dmilib.dataset import Dataset, generate, preset
from dmilib.dataset.figures import component_statistics, select_nearest
from dmilib.plotting import (
    GRAIN_BOUNDARY_GID,
    ZOOM_GID,
    plot_component_statistics,
    plot_dataset_snapshots,
    plot_dataset_statistics,
    plot_disorder_sample,
    plot_figure2,
)
from dmilib.dataset.shape import measure_bubble
from dmilib.dataset.voronoi import Tessellation


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("figures") / "tiny.zarr"
    generate(preset("tiny"), path, scheduler="synchronous", progress=False)
    return path


@pytest.fixture(scope="module")
def dataset(store_path):
    return Dataset(store_path)


def image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def render(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    assert buffer.tell() > 0


def grain_segments(ax):
    found = [c for c in ax.collections if isinstance(c, LineCollection) and c.get_gid() == GRAIN_BOUNDARY_GID]
    assert len(found) == 1
    return found[0].get_segments()


def expected_boundary_faces(ids, mask):
    """Faces between two in-disk cells of different grains, counted independently."""
    across_x = (ids[:, :-1] != ids[:, 1:]) & mask[:, :-1] & mask[:, 1:]
    across_y = (ids[:-1, :] != ids[1:, :]) & mask[:-1, :] & mask[1:, :]
    return int(across_x.sum() + across_y.sum())


def test_snapshots_grid_titles_colours_and_data(dataset):
    fig = plot_dataset_snapshots(dataset, D_values=(0.9e-3, 1.0e-3), Hz_values_T=(-6e-3, -10e-3))
    assert isinstance(fig, Figure)
    axes = image_axes(fig)
    assert len(axes) == 4 and len(fig.axes) == 5  # 2 x 2 panels + one colour bar
    titles = [ax.get_title() for ax in axes]
    assert titles == [
        "D = 0.90 mJ/m², Hz = -6 mT\nHx = 100 mT",
        "D = 0.90 mJ/m², Hz = -10 mT\nHx = 100 mT",
        "D = 1.00 mJ/m², Hz = -6 mT\nHx = 100 mT",
        "D = 1.00 mJ/m², Hz = -10 mT\nHx = 100 mT",
    ]
    for ax in axes:
        image = ax.images[0]
        assert image.get_cmap().name == "RdBu_r" and image.get_clim() == (-1.0, 1.0)
        assert any(isinstance(c, Quiver) for c in ax.collections)
    # The bottom-right panel shows the stored uniform sample at D = 1.0 mJ/m², Hz = -10 mT.
    (index,) = dataset.select(D=1.0e-3, Hz_T=-10e-3, tessellation=-1)
    shown = axes[3].images[0].get_array()
    np.testing.assert_array_equal(np.ma.getmaskarray(shown), ~dataset.mask)
    np.testing.assert_allclose(shown.filled(0), dataset.magnetization(index)[0, 2])
    assert fig.axes[-1].get_ylabel() == "$m_z$"
    render(fig)


def test_nearest_stored_values_are_reported(dataset):
    fig = plot_dataset_snapshots(dataset, D_values=(0.93e-3,), Hz_values_T=(-6.7e-3, -9.2e-3))
    titles = [ax.get_title() for ax in image_axes(fig)]
    assert titles == ["D = 0.90 mJ/m², Hz = -6 mT\nHx = 100 mT", "D = 0.90 mJ/m², Hz = -10 mT\nHx = 100 mT"]
    index = select_nearest(dataset, 0.93e-3, -7.2e-3, -1)
    assert dataset.array("D_J_per_m2")[index] == pytest.approx(0.9e-3)
    assert dataset.array("Hz_T")[index] == pytest.approx(-8e-3)
    assert dataset.array("tessellation")[index] == -1 and dataset.valid[index]
    # A tie goes to the larger value (D = 1.0 between 0.9 and 1.0).
    assert dataset.array("D_J_per_m2")[select_nearest(dataset, 0.95e-3, -6e-3, -1)] == pytest.approx(1.0e-3)


def test_snapshot_requests_without_a_sample_raise(dataset):
    # The paper's D = 0.05 mJ/m²: the nearest valid sample of this store is 0.9 mJ/m².
    with pytest.raises(ValueError, match=r"no valid sample near D = 0.05 mJ/m².*0.90, 1.00"):
        plot_dataset_snapshots(dataset)
    # D = 0 runs are stored but failed (the bubble collapsed): not valid, so not shown.
    with pytest.raises(ValueError, match="no valid sample near D = 0.00"):
        plot_dataset_snapshots(dataset, D_values=(0.0,), Hz_values_T=(-6e-3,))
    with pytest.raises(ValueError, match=r"Hz_T: no valid sample near Hz = -20 mT"):
        plot_dataset_snapshots(dataset, D_values=(1e-3,), Hz_values_T=(-20e-3,))
    with pytest.raises(ValueError, match="tessellation: the dataset has no valid sample of tessellation 7"):
        plot_dataset_snapshots(dataset, D_values=(1e-3,), tessellation=7)
    with pytest.raises(ValueError, match="D_values"):
        plot_dataset_snapshots(dataset, D_values=())
    with pytest.raises(ValueError, match="stride"):
        plot_dataset_snapshots(dataset, D_values=(1e-3,), stride=0)
    with pytest.raises(ValueError, match="dataset"):
        plot_dataset_snapshots("not a dataset")


def test_disorder_sample_has_grains_zoom_and_labels(dataset):
    fig = plot_disorder_sample(dataset)
    ax_b, ax_c = image_axes(fig)
    assert len(fig.axes) == 3
    assert ax_b.get_title() == "(b) Voronoi tessellation 0\nD = 1.00 mJ/m², Hz = -6 mT\nHx = 100 mT"
    assert ax_c.get_title().startswith("(c)")

    # The overlay is the tessellation the store was generated with: rebuilt independently ...
    config = dataset.config
    grid = config.grid()
    ids = Tessellation(0, config.disorder.mean_grain_diameter_m).grain_ids(grid)
    assert len(grain_segments(ax_b)) == expected_boundary_faces(ids, grid.mask) > 100
    # ... and outlining exactly the stored Ku map's grains.
    ku = dataset.group["ku_maps"][0]
    ku_ids = np.unique(ku, return_inverse=True)[1].reshape(ku.shape)
    assert expected_boundary_faces(ku_ids, grid.mask) == expected_boundary_faces(ids, grid.mask)

    # The dashed rectangle in (b) is the window of (c), which straddles the bubble wall.
    (zoom,) = [p for p in ax_b.patches if p.get_gid() == ZOOM_GID]
    x0, y0 = zoom.get_xy()
    np.testing.assert_allclose([x0, x0 + zoom.get_width()], ax_c.get_xlim())
    np.testing.assert_allclose([y0, y0 + zoom.get_height()], ax_c.get_ylim())
    zoomed = ax_c.images[0].get_array().compressed()
    assert zoomed.min() < -0.5 and zoomed.max() > 0.5
    segments = grain_segments(ax_c)
    assert 0 < len(segments) < len(grain_segments(ax_b))
    points = np.concatenate(segments)
    assert points[:, 0].min() >= x0 - 1e-9 and points[:, 0].max() <= x0 + zoom.get_width() + 1e-9
    render(fig)


def test_disorder_sample_nearest_values_and_options(dataset):
    fig = plot_disorder_sample(dataset, D=0.97e-3, Hz_T=-8.4e-3, tessellation=0, zoom_m=20e-9, centre_m=(0.0, 0.0))
    ax_b, ax_c = image_axes(fig)
    assert "D = 1.00 mJ/m², Hz = -8 mT" in ax_b.get_title()
    # 67 cells of 3 nm: cell centres at multiples of 3 nm from the disk centre, so the 13
    # with centres within 20 nm (-18 .. 18 nm) are shown, edges at -19.5 and 19.5 nm.
    np.testing.assert_allclose(ax_c.get_xlim(), (-19.5, 19.5))
    np.testing.assert_allclose(ax_c.get_ylim(), (-19.5, 19.5))


def test_disorder_sample_errors(dataset, store_path, tmp_path):
    with pytest.raises(ValueError, match="tessellation must be a Voronoi seed >= 0"):
        plot_disorder_sample(dataset, tessellation=-1)
    with pytest.raises(ValueError, match="no valid sample of tessellation 3"):
        plot_disorder_sample(dataset, tessellation=3)
    with pytest.raises(ValueError, match="no valid sample near D = 0.50"):
        plot_disorder_sample(dataset, D=0.5e-3)
    with pytest.raises(ValueError, match="zoom_m"):
        plot_disorder_sample(dataset, zoom_m=-1e-9)
    # A copy of the store whose Voronoi samples are marked invalid has no non-uniform sample.
    copy = tmp_path / "uniform_only.zarr"
    shutil.copytree(store_path, copy)
    group = zarr.open_group(str(copy), mode="r+")
    valid = group["valid"][:]
    valid[group["tessellation"][:] >= 0] = False
    group["valid"][:] = valid
    with pytest.raises(ValueError, match="no non-uniform samples"):
        plot_disorder_sample(Dataset(copy))


def test_store_without_configuration_uses_the_stored_ku_map(dataset, store_path, tmp_path):
    copy = tmp_path / "imported.zarr"
    shutil.copytree(store_path, copy)
    zarr.open_group(str(copy), mode="r+").attrs["config"] = None
    bare = Dataset(copy)
    assert bare.config is None
    from_config = grain_segments(image_axes(plot_disorder_sample(dataset))[0])
    from_ku = grain_segments(image_axes(plot_disorder_sample(bare))[0])
    assert sorted(map(lambda s: tuple(np.round(s, 6).ravel()), from_config)) == \
        sorted(map(lambda s: tuple(np.round(s, 6).ravel()), from_ku))


def test_figure2_combines_a_b_and_c(dataset):
    fig = plot_figure2(dataset, D_values=(0.9e-3, 1.0e-3))
    left, right = fig.subfigs
    assert left.get_suptitle() == "(a) uniform film"
    assert len(image_axes(left)) == 4
    titles = [ax.get_title() for ax in image_axes(right)]
    assert titles[0].startswith("(b) Voronoi tessellation 0") and titles[1].startswith("(c)")
    assert len(image_axes(fig)) == 6
    render(fig)
    with pytest.raises(ValueError, match="no valid sample near D = 0.05"):
        plot_figure2(dataset)


def test_statistics_panels(dataset):
    fig = plot_dataset_statistics(dataset)
    ax_hist, ax_area, ax_asym, colorbar = fig.axes
    assert colorbar.get_ylabel() == "D (mJ/m²)"
    valid = dataset.valid
    # Stacked histogram: its bars hold every valid sample, once.
    assert sum(p.get_height() for p in ax_hist.patches) == valid.sum() == 9
    # One area line per (D, tessellation) run; areas are those of measure_bubble and grow
    # with |Hz| (a more negative Hz favours the reversed, m_z < 0, bubble).
    lines = ax_area.get_lines()
    assert len(lines) == 3
    grid = dataset.grid
    (index,) = dataset.select(D=0.9e-3, Hz_T=-6e-3, tessellation=-1)
    first = measure_bubble(dataset.magnetization(index)[0], grid).area_m2 * 1e18 / 1e3
    assert any(np.isclose(line.get_ydata()[0], first) for line in lines)
    for line in lines:
        np.testing.assert_allclose(line.get_xdata(), [6, 8, 10])
        assert np.all(np.diff(line.get_ydata()) > 0)
    assert "-10 mT" in ax_asym.get_title()
    (uniform,) = [line for line in ax_asym.get_lines() if line.get_label() == "uniform film"]
    np.testing.assert_allclose(uniform.get_xdata(), [0.9, 1.0])
    assert len(ax_asym.collections[0].get_offsets()) == 1  # tessellation 0 at D = 1.0
    render(fig)


def test_component_statistics_per_D_and_the_unit_length(dataset, store_path):
    D, mean, std = component_statistics(dataset, Hz_T=-8.2e-3)  # nearest stored field: -8 mT
    assert np.allclose(D * 1e3, [0.9, 1.0])  # the uniform film's valid runs, ascending
    # |m| = 1 in every cell, so over the disk sum_c (mean_c^2 + var_c) = <|m|^2> = 1.
    assert np.allclose(np.sum(mean**2 + std**2, axis=1), 1.0, atol=1e-5)
    # Against the raw store read with zarr here, the sample picked by its labels.
    group = zarr.open_group(str(store_path), mode="r")
    mask = np.asarray(group["mask"][:], bool)
    labels = {name: np.asarray(group[name][:]) for name in ("D_J_per_m2", "Hz_T", "tessellation")}
    for row, d in enumerate(D):
        (index,) = np.flatnonzero(np.isclose(labels["D_J_per_m2"], d) & np.isclose(labels["Hz_T"], -8e-3)
                                  & (labels["tessellation"] == -1))
        m = np.asarray(group["magnetization"][index], np.float64)[:, mask]
        assert np.allclose(mean[row], m.mean(axis=1)) and np.allclose(std[row], m.std(axis=1))
    # An in-plane field along +x tilts both domains towards +x; nothing favours +-y.
    assert np.all(mean[:, 0] > 0.05) and np.all(np.abs(mean[:, 1]) < 0.01)
    render(plot_component_statistics(D, mean, std, caption="tiny store, uniform film, -8 mT"))


def test_component_statistics_refuses_a_missing_field_or_film(dataset):
    with pytest.raises(ValueError, match="Hz_T"):
        component_statistics(dataset, Hz_T=-20e-3)
    with pytest.raises(ValueError, match="tessellation"):
        component_statistics(dataset, Hz_T=-8e-3, tessellation=7)
    with pytest.raises(ValueError, match="shape"):
        plot_component_statistics([1e-3], np.zeros((2, 3)), np.zeros((2, 3)))
