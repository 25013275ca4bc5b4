"""Train/test splits: no overlap, sizes, the paper's D intervals, whole runs, subsets."""

import numpy as np
import pytest

from dmilib.learn.splits import grouped_split, interval_split, make_split, random_split, subset_mask


def _check_partition(split, n, *, complete=True):
    assert np.intersect1d(split.train, split.test).size == 0
    assert np.all(np.diff(split.train) > 0) and np.all(np.diff(split.test) > 0)
    if complete:
        np.testing.assert_array_equal(np.union1d(split.train, split.test), np.arange(n))


def test_random_split_sizes_overlap_and_seed():
    split = random_split(100, 0.2, seed=0)
    _check_partition(split, 100)
    assert (split.train.size, split.test.size) == (80, 20)
    assert split.description == {"name": "random", "test_fraction": 0.2, "seed": 0, "n_train": 80, "n_test": 20}
    np.testing.assert_array_equal(random_split(100, 0.2, seed=0).test, split.test)
    assert not np.array_equal(random_split(100, 0.2, seed=1).test, split.test)
    assert random_split(7, 0.2, seed=0).test.size == 1  # round(1.4)
    assert random_split(2, 0.9, seed=0).train.size == 1  # at least one on each side


@pytest.mark.parametrize("arguments, field", [((1,), "at least 2"), ((10, 0.0), "test_fraction"),
                                              ((10, 1.0), "test_fraction"), ((10, 0.2, -1), "seed")])
def test_random_split_rejects_bad_input(arguments, field):
    with pytest.raises(ValueError, match=field):
        random_split(*arguments)


def test_grouped_split_never_splits_a_run():
    runs = np.repeat(np.arange(20), 5)
    split = grouped_split(runs, 0.2, seed=3)
    _check_partition(split, runs.size)
    train_runs, test_runs = set(runs[split.train]), set(runs[split.test])
    assert not train_runs & test_runs
    assert len(test_runs) == 4 and len(train_runs) == 16
    assert sorted(test_runs) == split.description["test_groups"]
    # Unequal run sizes and non-contiguous keys.
    runs = np.array([7, 7, 3, 9, 9, 9, 3, 12, 7, 12])
    split = grouped_split(runs, 0.5, seed=0)
    assert not set(runs[split.train]) & set(runs[split.test])
    with pytest.raises(ValueError, match="at least 2 groups"):
        grouped_split(np.zeros(5, int))


def test_interval_splits_follow_the_documented_boundaries():
    # D as stored (J/m^2) times 1e3, including the binary round-off of 0.6e-3 etc.
    d = np.round(np.arange(0.0, 1.0001, 0.05), 2) * 1e-3 * 1e3
    high = interval_split(d, "interval-high")
    low = interval_split(d, "interval-low")
    middle = interval_split(d, "interval-middle")
    for split in (high, low, middle):
        _check_partition(split, d.size, complete=False)
        assert 0 not in split.train and 0 not in split.test  # D = 0 < 0.05 is excluded
        assert split.description["excluded"] == 1
    values = lambda idx: np.round(d[idx], 6).tolist()  # noqa: E731
    assert values(high.train) == [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55]
    assert values(high.test) == [0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]
    assert values(low.train)[0] == 0.4 and values(low.test)[-1] == 0.35
    assert values(middle.train) == [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8]
    assert values(middle.test) == [0.05, 0.1, 0.15, 0.85, 0.9, 0.95, 1.0]
    with pytest.raises(ValueError, match="leaves 0 training"):
        interval_split(np.array([0.7, 0.9]), "interval-high")
    with pytest.raises(ValueError, match="interval split name"):
        interval_split(d, "interval-wide")


def test_make_split_dispatches_and_rejects_unknown_names():
    d = np.linspace(0.05, 1.0, 40)
    runs = np.repeat(np.arange(8), 5)
    assert make_split("random", d, runs, seed=1).description["name"] == "random"
    grouped = make_split("grouped", d, runs, seed=1)
    assert not set(runs[grouped.train]) & set(runs[grouped.test])
    assert make_split("interval-low", d, runs).description["name"] == "interval-low"
    with pytest.raises(ValueError, match="split must be one of"):
        make_split("kfold", d, runs)


def test_subset_mask():
    tessellation = np.array([-1, 0, 3, -1])
    np.testing.assert_array_equal(subset_mask(tessellation, "uniform"), [True, False, False, True])
    np.testing.assert_array_equal(subset_mask(tessellation, "nonuniform"), [False, True, True, False])
    assert subset_mask(tessellation, "both").all()
    with pytest.raises(ValueError, match="subset"):
        subset_mask(tessellation, "all")


def test_plot_split_ranges_marks_train_test_and_interval_bands():
    from dmilib.learn.report import plot_split_ranges

    d = np.repeat(np.round(np.arange(0, 1.01, 0.1), 6), 3)
    runs = np.repeat(np.arange(11), 3)
    splits = {name: make_split(name, d, runs) for name in ("random", "interval-high")}
    figure = plot_split_ranges(splits, d)
    (axes,) = figure.axes
    assert [label.get_text() for label in axes.get_yticklabels()] == ["random", "interval-high"]
    # Bands only for the interval split: one for its training rule, one for its test rule.
    assert len(axes.collections) == 2
    # interval-high trains on 0.05 <= D < 0.6 and tests on 0.6 <= D <= 1 (the paper's first split).
    train_line, test_line = axes.lines[3], axes.lines[4]
    assert np.allclose(train_line.get_xdata(), [0.1, 0.2, 0.3, 0.4, 0.5])
    assert np.allclose(test_line.get_xdata(), [0.6, 0.7, 0.8, 0.9, 1.0])


def _rows(experiment, test_maes):
    from dmilib.learn.experiment import RESULT_COLUMNS

    base = dict.fromkeys(RESULT_COLUMNS, 0.0) | {"experiment": experiment, "model": "cnn", "dataset": "d",
                                                 "subset": "both", "split": "random", "component": "mx"}
    return [base | {"seed": seed, "test_mae": value} for seed, value in enumerate(test_maes)]


def test_mae_difference_standard_error_with_a_single_seed_experiment():
    from dmilib.learn.report import mae_difference, pooled_seed_scatter

    # Sample std (ddof 1): [1, 3] -> sqrt(2); [2, 4, 6] -> 2.
    rows = _rows("a", [1.0, 3.0]) + _rows("b", [2.0, 4.0, 6.0]) + _rows("c", [10.0])
    assert pooled_seed_scatter(rows) == pytest.approx(np.sqrt((2.0 + 4.0) / 2))
    delta, error = mae_difference(rows, "b", "a")
    assert delta == pytest.approx(4.0 - 2.0)
    assert error == pytest.approx(np.sqrt(2.0 / 2 + 4.0 / 3))
    delta, error = mae_difference(rows, "c", "a")  # c has one seed: the pooled scatter stands in
    assert delta == pytest.approx(8.0)
    assert error == pytest.approx(np.sqrt(3.0 / 1 + 2.0 / 2))


def test_experiment_key_round_trip_and_refusals():
    from dmilib.learn.report import ExperimentKey, experiment_key

    key = ExperimentKey.parse("mz/uniform")
    assert key.parts == ("mz", "uniform") and key[0] == "mz" and key.label == "uniform"
    assert str(key) == experiment_key("mz", "uniform") == "mz/uniform"
    assert ExperimentKey.parse(key) is key
    for bad in ((), ("a/b",), ("",)):
        with pytest.raises(ValueError, match="parts must be"):
            ExperimentKey(bad)


def test_experiment_split_holds_out_whole_runs_and_interior_seed_keeps_them_inside():
    from dmilib.learn.experiment import experiment_split, interior_split_seed

    # Ten runs of four images; run r has D = r / 9 mJ/m2, so runs 0 and 9 carry the extremes.
    groups = np.repeat(np.arange(10), 4)
    labels = groups / 9.0
    parts = experiment_split("grouped", labels, groups, split_seed=0, test_fraction=0.2, calibration_fraction=0.25)
    every = np.sort(np.concatenate([parts.train, parts.calibration, parts.test]))
    np.testing.assert_array_equal(every, np.arange(groups.size))  # a partition of the images
    sides = [set(groups[p].tolist()) for p in (parts.train, parts.calibration, parts.test)]
    assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])
    assert len(sides[2]) == 2 and len(sides[1]) == 2  # 20 % of 10 runs, then 25 % of the 8 left
    assert parts.calibration_description["groups"] == sorted(sides[1])
    without = experiment_split("grouped", labels, groups, split_seed=0, test_fraction=0.2)
    assert without.calibration.size == 0 and without.calibration_description is None

    seed = interior_split_seed(labels, groups, test_fraction=0.2, calibration_fraction=0.25)
    chosen = experiment_split("grouped", labels, groups, split_seed=seed, test_fraction=0.2, calibration_fraction=0.25)
    held_out = set(groups[np.concatenate([chosen.test, chosen.calibration])].tolist())
    assert not held_out & {0, 9}  # the extreme runs train, so every held-out D is strictly inside
    # Three runs: one trains, so no held-out D can lie strictly inside a one-value range.
    with pytest.raises(ValueError, match="strictly inside"):
        interior_split_seed(np.repeat([0.0, 0.5, 1.0], 2), np.repeat([0, 1, 2], 2), test_fraction=0.34,
                            calibration_fraction=0.5, seeds=range(20))
