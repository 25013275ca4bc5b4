"""Labelled bubble datasets: Voronoi disorder, the bubble protocol, Zarr stores, Dask generation.

Pipeline position: simulate -> **dataset** -> degrade -> learn -> infer.
"""

from .config import DatasetConfig, load_config, preset, with_overrides
from .generate import generate
from .store import Dataset

__all__ = ["Dataset", "DatasetConfig", "generate", "load_config", "preset", "with_overrides"]
