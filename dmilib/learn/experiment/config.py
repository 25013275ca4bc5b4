"""The configuration of one experiment: :class:`ExperimentConfig` (validated, JSON round trip)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

import numpy as np

from ...degrade import Degradation
from ...errors import FieldValueError
from ..model import DEFAULT_LEARNING_RATE
from ..splits import DEFAULT_TEST_FRACTION, SPLIT_NAMES, SUBSET_NAMES


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that defines an experiment.

    Attributes
    ----------
    dataset_paths : tuple of str
        Dataset stores; their valid samples are pooled. They must share cell size and shape.
    subset : {"both", "uniform", "nonuniform"}
        Uniform films (tessellation -1), Voronoi films, or both.
    split : str
        One of :data:`dmilib.learn.splits.SPLIT_NAMES`.
    split_seed : int
        Seed of the random/grouped split (and of the test-image noise).
    test_fraction : float
        Held-out fraction for the random (samples) and grouped (runs) splits.
    degradation : dmilib.degrade.Degradation
        Component, pixelation, noise, blur applied to the images.
    seeds : tuple of int
        One model per seed (weights initialization, batch order, training noise).
    epochs, batch_size : int
    learning_rate : float
    name : str or None
        Experiment name for the tables; default: the output folder's name.
    fields : bool
        Train the field-conditioned CNN (:mod:`dmilib.learn.field_model`: the image and the
        applied ``mu0 Hz``, ``mu0 Hx``) instead of the paper's CNN; the ridge baseline then
        gets the two fields as extra features.
    calibration_fraction : float
        Fraction of the *training runs* held out (whole runs, like the grouped split) to
        calibrate a split-conformal interval (:mod:`dmilib.learn.conformal`); 0 (default)
        trains on all of them and records no interval. Needs ``split="grouped"``, so that
        the coverage is measured on test runs that neither training nor calibration saw.
    """

    dataset_paths: tuple[str, ...]
    subset: str = "both"
    split: str = "random"
    split_seed: int = 0
    test_fraction: float = DEFAULT_TEST_FRACTION
    degradation: Degradation = field(default_factory=Degradation)
    seeds: tuple[int, ...] = tuple(range(10))
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = DEFAULT_LEARNING_RATE
    name: str | None = None
    fields: bool = False
    calibration_fraction: float = 0.0

    def __post_init__(self) -> None:
        paths = (self.dataset_paths,) if isinstance(self.dataset_paths, (str, os.PathLike)) else self.dataset_paths
        object.__setattr__(self, "dataset_paths", tuple(str(p) for p in paths))
        object.__setattr__(self, "seeds", tuple(self.seeds))
        self.validate()

    def validate(self) -> None:
        """Raise ValueError (:class:`~dmilib.errors.FieldValueError`) naming the first invalid field."""
        if not self.dataset_paths:
            raise FieldValueError("dataset_paths", "dataset_paths must name at least one dataset store")
        if self.subset not in SUBSET_NAMES:
            raise FieldValueError("subset", f"subset must be one of {SUBSET_NAMES}, got {self.subset!r}")
        if self.split not in SPLIT_NAMES:
            raise FieldValueError("split", f"split must be one of {SPLIT_NAMES}, got {self.split!r}")
        for name in ("split_seed", "epochs", "batch_size"):
            value = getattr(self, name)
            minimum = 0 if name == "split_seed" else 1
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
                raise FieldValueError(name, f"{name} must be an integer >= {minimum}, got {value!r}")
        if not (isinstance(self.test_fraction, (int, float)) and 0 < self.test_fraction < 1):
            raise FieldValueError("test_fraction",
                                  f"test_fraction must lie strictly between 0 and 1, got {self.test_fraction!r}")
        if not self.seeds:
            raise FieldValueError("seeds", "seeds must hold at least one seed")
        for seed in self.seeds:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
                raise FieldValueError("seeds", f"seeds must be integers >= 0, got {seed!r}")
        if len(set(self.seeds)) != len(self.seeds):
            raise FieldValueError("seeds", f"seeds must be distinct, got {list(self.seeds)}")
        if not (isinstance(self.learning_rate, (int, float)) and np.isfinite(self.learning_rate)
                and self.learning_rate > 0):
            raise FieldValueError("learning_rate",
                                  f"learning_rate must be a positive number, got {self.learning_rate!r}")
        if not isinstance(self.fields, (bool, np.bool_)):
            raise FieldValueError("fields", f"fields must be True or False, got {self.fields!r}")
        if isinstance(self.calibration_fraction, bool) or not isinstance(self.calibration_fraction, (int, float)) \
                or not 0 <= self.calibration_fraction < 1:
            raise FieldValueError("calibration_fraction", "calibration_fraction must lie in [0, 1) (fraction of the "
                                  f"training runs), got {self.calibration_fraction!r}")
        if self.calibration_fraction > 0 and self.split != "grouped":
            raise FieldValueError("calibration_fraction", "calibration_fraction > 0 needs split='grouped' (calibration "
                                  f"and test runs must be whole runs never seen in training), got split={self.split!r}")
        if not isinstance(self.degradation, Degradation):
            raise FieldValueError("degradation", "degradation must be a dmilib.degrade.Degradation, "
                                  f"got {type(self.degradation).__name__}")

    def to_dict(self) -> dict:
        """JSON-safe form (the degradation as ``Degradation.to_dict()``)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["dataset_paths"] = list(self.dataset_paths)
        data["seeds"] = [int(s) for s in self.seeds]
        data["degradation"] = self.degradation.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ExperimentConfig":
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        values["degradation"] = Degradation.from_dict(dict(values["degradation"]))
        values["dataset_paths"] = tuple(values["dataset_paths"])
        values["seeds"] = tuple(values["seeds"])
        return cls(**values)
