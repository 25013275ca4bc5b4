"""Train/test splits of the study, and the uniform/non-uniform sample subsets.

Every function takes plain per-sample arrays (labels, run groups, tessellation seeds) and
returns a :class:`Split`: positions into those arrays for training and testing, plus a
JSON-safe description to record with the results. Splits are made on samples *before* any
noise augmentation, so the noisy copies of one image never straddle train and test.

Split names (:data:`SPLIT_NAMES`)
---------------------------------
``random``
    The paper's default: shuffle, hold out ``test_fraction`` (20 %) of the samples.
``grouped``
    Whole simulation runs (one D value, one tessellation, all its Hz snapshots) go to
    either side, about ``test_fraction`` of the runs to test, so no snapshot of a test run
    is seen in training (snapshots of one run are strongly correlated).
``interval-high``, ``interval-low``, ``interval-middle``
    The paper's extrapolation tests (Fig. 5) on D in mJ/m^2:

    ===================  =========================  ======================================
    name                 train                      test
    ===================  =========================  ======================================
    ``interval-high``    0.05 <= D < 0.6            0.6 <= D <= 1.0
    ``interval-low``     0.4 <= D <= 1.0            0.05 <= D < 0.4
    ``interval-middle``  0.2 <= D <= 0.8            0.05 <= D < 0.2  or  0.8 < D <= 1.0
    ===================  =========================  ======================================

    The paper writes the intervals as open pairs; the convention above assigns every
    boundary value to exactly one side (a shared boundary goes to the side whose interval
    the paper lists as the bigger one: 0.6 to the high test set, 0.4 and 0.2/0.8 to the
    training sets). Samples with D < 0.05 (the non-chiral D = 0 runs) or D > 1.0 are in
    neither set, as in the paper whose figure starts at 0.05. Comparisons are made on D
    rounded to 1e-9 mJ/m^2, so 0.6e-3 J/m^2 stored in binary is 0.6.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

SPLIT_NAMES = ("random", "grouped", "interval-high", "interval-low", "interval-middle")
SUBSET_NAMES = ("both", "uniform", "nonuniform")
DEFAULT_TEST_FRACTION = 0.2

INTERVAL_MINIMUM_MJ = 0.05
INTERVAL_MAXIMUM_MJ = 1.0
_DECIMALS = 9


class Split(NamedTuple):
    """A train/test split.

    Attributes
    ----------
    train, test : numpy.ndarray of int64
        Sorted positions into the arrays the split was made from; disjoint.
    description : dict
        JSON-safe: ``name``, the rule's parameters and the sizes.
    """

    train: np.ndarray
    test: np.ndarray
    description: dict


def _check_fraction(test_fraction: float) -> float:
    value = float(test_fraction)
    if not (0.0 < value < 1.0):
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction!r}")
    return value


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def _held_out_count(total: int, test_fraction: float, what: str) -> int:
    if total < 2:
        raise ValueError(f"a split needs at least 2 {what}, got {total}")
    return min(max(1, int(round(test_fraction * total))), total - 1)


def subset_mask(tessellation: np.ndarray, subset: str) -> np.ndarray:
    """Samples of a subset: ``"uniform"`` (tessellation == -1), ``"nonuniform"`` (>= 0), ``"both"``."""
    values = np.asarray(tessellation)
    if subset == "both":
        return np.ones(values.shape, bool)
    if subset == "uniform":
        return values == -1
    if subset == "nonuniform":
        return values >= 0
    raise ValueError(f"subset must be one of {SUBSET_NAMES}, got {subset!r}")


def random_split(n: int, test_fraction: float = DEFAULT_TEST_FRACTION, seed: int = 0) -> Split:
    """Shuffle ``n`` samples and hold out ``round(test_fraction * n)`` (at least 1, at most n - 1).

    Raises
    ------
    ValueError
        If ``n < 2``, the fraction is not in (0, 1) or the seed is not an integer >= 0.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"n must be an integer, got {n!r}")
    fraction, seed = _check_fraction(test_fraction), _check_seed(seed)
    held_out = _held_out_count(int(n), fraction, "samples")
    order = np.random.default_rng(seed).permutation(int(n))
    test, train = np.sort(order[:held_out]), np.sort(order[held_out:])
    return Split(train.astype(np.int64), test.astype(np.int64),
                 {"name": "random", "test_fraction": fraction, "seed": seed, "n_train": int(train.size),
                  "n_test": int(test.size)})


def grouped_split(groups: np.ndarray, test_fraction: float = DEFAULT_TEST_FRACTION, seed: int = 0) -> Split:
    """Hold out whole groups (simulation runs): ``round(test_fraction * groups)`` of them.

    Parameters
    ----------
    groups : numpy.ndarray of int
        Group key of each sample (e.g. a run index made unique across datasets).
    test_fraction : float
        Fraction of the *groups* (not of the samples) held out; at least one group on each side.
    seed : int
        Seed of the group shuffle.

    Raises
    ------
    ValueError
        If there are fewer than 2 groups, or the fraction or seed is invalid.
    """
    keys = np.asarray(groups)
    if keys.ndim != 1 or not np.issubdtype(keys.dtype, np.integer):
        raise ValueError(f"groups must be a 1-D integer array, got dtype {keys.dtype} shape {keys.shape}")
    fraction, seed = _check_fraction(test_fraction), _check_seed(seed)
    unique = np.unique(keys)
    held_out = _held_out_count(unique.size, fraction, "groups (runs)")
    test_groups = np.sort(np.random.default_rng(seed).permutation(unique)[:held_out])
    is_test = np.isin(keys, test_groups)
    train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    return Split(train.astype(np.int64), test.astype(np.int64),
                 {"name": "grouped", "test_fraction": fraction, "seed": seed, "n_groups": int(unique.size),
                  "test_groups": [int(g) for g in test_groups], "n_train": int(train.size), "n_test": int(test.size)})


def _interval_masks(name: str, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    in_range = (d >= INTERVAL_MINIMUM_MJ) & (d <= INTERVAL_MAXIMUM_MJ)
    if name == "interval-high":
        train, rule = in_range & (d < 0.6), {"train": "0.05 <= D < 0.6", "test": "0.6 <= D <= 1.0"}
        test = in_range & (d >= 0.6)
    elif name == "interval-low":
        train, rule = in_range & (d >= 0.4), {"train": "0.4 <= D <= 1.0", "test": "0.05 <= D < 0.4"}
        test = in_range & (d < 0.4)
    elif name == "interval-middle":
        train = in_range & (d >= 0.2) & (d <= 0.8)
        test = in_range & ((d < 0.2) | (d > 0.8))
        rule = {"train": "0.2 <= D <= 0.8", "test": "0.05 <= D < 0.2 or 0.8 < D <= 1.0"}
    else:
        raise ValueError(f"interval split name must be one of {SPLIT_NAMES[2:]}, got {name!r}")
    return train, test, rule


def interval_split(D_mJ_per_m2: np.ndarray, name: str) -> Split:
    """The paper's disjoint-interval split ``name`` (see the module docstring for the bounds).

    Parameters
    ----------
    D_mJ_per_m2 : numpy.ndarray
        D of each sample in mJ/m^2.
    name : {"interval-high", "interval-low", "interval-middle"}

    Raises
    ------
    ValueError
        For an unknown name, or when the training or the test side is empty.
    """
    d = np.round(np.asarray(D_mJ_per_m2, dtype=np.float64), _DECIMALS)
    if d.ndim != 1:
        raise ValueError(f"D_mJ_per_m2 must be 1-D, got shape {d.shape}")
    train_mask, test_mask, rule = _interval_masks(name, d)
    train, test = np.flatnonzero(train_mask), np.flatnonzero(test_mask)
    if train.size == 0 or test.size == 0:
        raise ValueError(f"split {name!r} leaves {train.size} training and {test.size} test samples "
                         f"(D values present: {sorted(set(np.unique(d).tolist()))} mJ/m^2)")
    return Split(train.astype(np.int64), test.astype(np.int64),
                 {"name": name, "unit": "mJ/m^2", **rule, "excluded": int(d.size - train.size - test.size),
                  "n_train": int(train.size), "n_test": int(test.size)})


def make_split(name: str, D_mJ_per_m2: np.ndarray, groups: np.ndarray, *, seed: int = 0,
               test_fraction: float = DEFAULT_TEST_FRACTION) -> Split:
    """Dispatch on the split ``name`` (one of :data:`SPLIT_NAMES`).

    ``seed`` and ``test_fraction`` apply to ``random`` and ``grouped``; the interval splits
    are deterministic.
    """
    d = np.asarray(D_mJ_per_m2)
    if name == "random":
        return random_split(int(d.size), test_fraction, seed)
    if name == "grouped":
        keys = np.asarray(groups)
        if keys.shape != d.shape:
            raise ValueError(f"groups must have one entry per sample ({d.shape}), got {keys.shape}")
        return grouped_split(keys, test_fraction, seed)
    if name in SPLIT_NAMES:
        return interval_split(d, name)
    raise ValueError(f"split must be one of {SPLIT_NAMES}, got {name!r}")
