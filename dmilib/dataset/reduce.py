"""Reduced copies of a dataset store: block-averaged and stored in float16.

A reduced copy keeps every label, flag and attribute of the source and replaces the
magnetization by its ``b x b`` block average (the same vector average as the study's
pixelation, with the same crop rule as :func:`dmilib.degrade.pixelate`) stored in float16
(about 3 significant digits, far below the noise levels the study adds). A model trained
at pixelation ``p * b`` on the full store sees the same images as one trained at
pixelation ``p`` on the copy. It lets CPU users rerun the experiments at b >= ``b``
without generating the data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..cropping import block_mean
from .store import (LAYOUT, Dataset, check_replaceable, record_digests, remove_scratch, swap_in, write_layout,
                    writer_lock)


def block_average(m: np.ndarray, b: int) -> np.ndarray:
    """Block-average ``(..., H, W)`` by ``b x b`` after cropping to multiples of ``b``.

    The crop rule is :func:`dmilib.cropping.block_window` (the one of :func:`dmilib.degrade.pixelate`).
    """
    if not isinstance(b, (int, np.integer)) or b < 1:
        raise ValueError(f"b must be an integer >= 1, got {b!r}")
    height, width = m.shape[-2:]
    if height < b or width < b:
        raise ValueError(f"b = {b} exceeds the image size {height} x {width}")
    return block_mean(m, b)


def reduce_store(source, destination, *, pixelation: int = 5, dtype: str = "float16", overwrite: bool = False) -> Dataset:
    """Write a block-averaged, low-precision copy of ``source`` to ``destination``.

    The mask of the copy marks blocks that hold at least one magnetic cell; the cell size in
    ``attrs["cell_size_m"]`` is multiplied by ``pixelation`` and ``attrs["reduced_from"]``
    records the source's hash, the pixelation and the dtype.
    """
    if dtype not in ("float16", "float32"):
        raise ValueError(f"dtype must be 'float16' or 'float32', got {dtype!r}")
    source_dataset = Dataset(source)
    destination = Path(destination)
    if destination.exists() and not overwrite:
        raise ValueError(f"{destination} exists; pass overwrite=True to replace it")
    check_replaceable(destination)
    with writer_lock(destination, "the dataset store"):
        tmp = destination.with_name(destination.name + ".creating")
        remove_scratch(tmp)
        _write_reduced(source_dataset, tmp, source, pixelation, dtype)
        swap_in(tmp, destination)
    return Dataset(destination)


def _write_reduced(source_dataset: Dataset, tmp: Path, source, pixelation: int, dtype: str) -> None:
    src = source_dataset.group
    mask = block_average(source_dataset.mask.astype(np.float32), pixelation) > 0
    ku = src["ku_maps"][:]
    values = {name: src[name][:] for name in LAYOUT
              if name in src.array_keys() and name not in ("magnetization", "mask", "ku_maps", "run_digest")}
    values["mask"] = mask
    values["ku_maps"] = block_average(ku, pixelation) if ku.shape[0] else np.zeros((0, *mask.shape), np.float32)
    attrs = dict(src.attrs)
    cell = attrs["cell_size_m"]
    attrs["cell_size_m"] = [cell[0] * pixelation, cell[1] * pixelation, cell[2]]
    attrs["reduced_from"] = {"parameters_hash": attrs["parameters_hash"], "pixelation": int(pixelation),
                             "dtype": dtype, "source": str(Path(source))}
    attrs["preset"] = f"{attrs.get('preset', 'unknown')}-b{pixelation}"
    group = write_layout(tmp, snapshots_per_run=int(attrs["snapshots_per_run"]), cell_size_m=attrs["cell_size_m"],
                         values=values, attrs=attrs, magnetization_dtype=dtype)
    target = group["magnetization"]
    total = len(source_dataset)
    # block by block: a full-size store need not fit in memory
    for start in range(0, total, 64):
        stop = min(total, start + 64)
        block = block_average(src["magnetization"][start:stop], pixelation) * mask
        target[start:stop] = block.astype(dtype)
    record_digests(group)
