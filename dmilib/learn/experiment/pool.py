"""The samples of an experiment pooled from its stores, their degraded images and the seed streams."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..baseline import degraded_shape_features
from ..model import LABEL_NAME, LABEL_SCALE
from ..splits import subset_mask
from .config import ExperimentConfig

DEGRADE_CHUNK = 64
"""Images read and degraded at once (noise seeds are derived per chunk, so this is fixed)."""


_TRAIN_NOISE, _TEST_NOISE, _SHUFFLE, _CALIBRATION, _CALIBRATION_NOISE, _SERIES = 1, 2, 3, 4, 5, 6


def _derived_seed(seed: int, role: int, chunk: int | None = None) -> int:
    """A 32-bit seed derived from ``(seed, role[, chunk])``; independent streams per role."""
    entropy = [int(seed), int(role)] + ([] if chunk is None else [int(chunk)])
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


@dataclass
class _Pool:
    """The pooled samples of an experiment (after the validity and subset filters)."""

    datasets: list
    dataset_index: np.ndarray
    sample_index: np.ndarray
    D_mJ_per_m2: np.ndarray
    groups: np.ndarray
    cell_size_m: float
    thickness_m: float
    mask: np.ndarray
    provenance: list
    fields_mT: np.ndarray  # (N, 2): mu0 Hz, mu0 Hx in mT


def _load_pool(config: ExperimentConfig) -> _Pool:
    from ...dataset import Dataset

    datasets, parts, provenance = [], [], []
    reference, run_offset = None, 0
    for number, path in enumerate(config.dataset_paths):
        dataset = Dataset(path)
        attrs = dataset.attrs
        geometry = (tuple(float(v) for v in attrs["cell_size_m"]), tuple(dataset.mask.shape))
        if reference is None:
            reference = geometry
            mask = dataset.mask.astype(bool)
        elif geometry != reference:
            raise ValueError(f"dataset_paths: {path} has cell size / shape {geometry}, unlike "
                             f"{config.dataset_paths[0]} ({reference}); pool only datasets of one grid")
        elif not np.array_equal(dataset.mask.astype(bool), mask):
            raise ValueError(f"dataset_paths: {path} has another disk mask than {config.dataset_paths[0]}")
        keep = dataset.valid & subset_mask(dataset.array("tessellation"), config.subset)
        index = np.flatnonzero(keep)
        runs = dataset.array("run")[index].astype(np.int64)
        # Runs are numbered per store; shift them so every run of the pool has its own key.
        fields = np.stack([dataset.array("Hz_T")[index], dataset.array("Hx_T")[index]], axis=1) * 1e3
        parts.append((np.full(index.size, number), index, dataset.array(LABEL_NAME)[index] * LABEL_SCALE,
                      runs + run_offset, fields.astype(np.float64)))
        run_offset += int(dataset.run_status.size)
        datasets.append(dataset)
        provenance.append({
            "path": str(path), "parameters_hash": attrs.get("parameters_hash"), "preset": attrs.get("preset"),
            "cell_size_m": list(attrs["cell_size_m"]), "shape": list(dataset.mask.shape),
            "dmilib_version": attrs.get("dmilib_version"), "git_commit": attrs.get("git_commit"),
            "reduced_from": attrs.get("reduced_from"), "valid_samples": int(dataset.valid.sum()),
            "selected_samples": int(index.size),
        })
    dataset_index, sample_index, d, groups, fields = (np.concatenate([p[i] for p in parts]) for i in range(5))
    if d.size < 2:
        raise ValueError(f"subset {config.subset!r} of {list(config.dataset_paths)} has {d.size} valid sample(s); "
                         "at least 2 are needed")
    dx, _, thickness = reference[0]
    return _Pool(datasets, dataset_index.astype(np.int64), sample_index.astype(np.int64), d.astype(np.float64),
                 groups.astype(np.int64), dx, thickness, mask, provenance, fields)


def _raw_blocks(pool: _Pool, positions: np.ndarray):
    """Yield ``(chunk_number, magnetization (n, 3, H, W))`` for ``positions``, in order."""
    for chunk, start in enumerate(range(0, positions.size, DEGRADE_CHUNK)):
        block = positions[start:start + DEGRADE_CHUNK]
        pieces = []
        owners = pool.dataset_index[block]
        boundaries = np.flatnonzero(np.diff(owners)) + 1
        for run in np.split(np.arange(block.size), boundaries):
            dataset = pool.datasets[int(owners[run[0]])]
            pieces.append(dataset.magnetization(pool.sample_index[block[run]]))
        yield chunk, np.concatenate(pieces)


def _degraded(pool: _Pool, positions: np.ndarray, degradation, *, noise_seed: int, training: bool,
              features: bool = False) -> np.ndarray:
    """Degraded images ``(n*k, H', W', C)`` of ``positions`` (or their shape features)."""
    out = []
    for chunk, m in _raw_blocks(pool, positions):
        seed = _derived_seed(noise_seed, 0, chunk)
        if features:
            out.append(degraded_shape_features(m, pool.cell_size_m, pool.mask, pool.thickness_m, degradation,
                                               seed=seed, training=training))
        else:
            out.append(np.asarray(degradation.apply(m, pool.cell_size_m, seed=seed, training=training), np.float32))
    return np.concatenate(out)


def _training_images(pool: _Pool, positions: np.ndarray, degradation, pixel_size_m: float,
                     input_shape: list) -> dict:
    """What the training images looked like, for :mod:`dmilib.infer`'s flags (``run.json`` ``training_images``).

    The bubble measures (:func:`dmilib.bubble.bubble_statistics`) are taken on the ``m_z``
    view of the training images through the run's degradation without noise, whatever
    components the model reads, since bubbles are found in ``m_z``.
    """
    from ...bubble import bubble_statistics
    from ...degrade import Degradation

    view = Degradation.from_dict({**degradation.to_dict(), "component": "mz", "noise_sigma": 0.0,
                                  "noise_copies": 1})
    images = _degraded(pool, positions, view, noise_seed=0, training=False)[..., 0]
    d, fields = pool.D_mJ_per_m2[positions], pool.fields_mT[positions]
    return {
        "note": "ranges over the training images (calibration and test runs excluded); bubble measures from "
                "dmilib.bubble.find_bubbles on the m_z view without noise",
        "D_mJ_per_m2": [float(d.min()), float(d.max())],
        "Hz_mT": [float(fields[:, 0].min()), float(fields[:, 0].max())],
        "Hx_mT": [float(fields[:, 1].min()), float(fields[:, 1].max())],
        "pixel_size_m": float(pixel_size_m),
        "blur_fwhm_m": float(degradation.blur_fwhm_m),
        "field_of_view_m": [float(input_shape[0] * pixel_size_m), float(input_shape[1] * pixel_size_m)],
        "bubbles": bubble_statistics(images, pixel_size_m),
    }
