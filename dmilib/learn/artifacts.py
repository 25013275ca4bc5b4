"""Reading a trained run back: ``load_run(path) -> LoadedRun``.

A *run* is the output folder of :func:`dmilib.learn.experiment.run_experiment`::

    run.json          what was trained on what (see below); written after every seed
    results.csv       one row per (seed, model); see ``experiment.RESULT_COLUMNS``
    seed_00.keras     one Keras 3 archive per seed (zip: config.json, metadata.json, weights)
    ...

``run.json`` (layout :data:`RUN_LAYOUT`) holds: ``layout``, ``dmilib_version``,
``git_commit``, ``keras_version``, ``keras_backend``, ``created``, ``updated``,
``experiment``, ``configuration`` and ``configuration_hash``, ``datasets`` (path,
parameters_hash, preset, cell_size_m, ...), ``degradation`` (``Degradation.to_dict()``:
apply ``Degradation.from_dict`` of it to a raw image to get the model's input),
``input_shape`` ``[H, W, C]``, ``input_pixel_size_m``, ``label``
(``{"name": "D_J_per_m2", "model_unit": "mJ/m^2", "model_unit_scale": 1000.0}``: a model
output divided by ``model_unit_scale`` is D in J/m^2), ``split`` (description,
``train_samples`` and ``test_samples`` as ``[dataset_index, sample_index]`` pairs),
``seeds`` (completed, ascending), ``epochs``, ``batch_size``, ``learning_rate`` and
``models``: ``{"<seed>": {"file": "seed_00.keras", "sha256": "...", "cnn": metrics, "ridge": metrics}}``
(``sha256``: the model file's SHA-256, checked on load, so a model file from another run
swapped in is refused; runs written before it was recorded load without the check).

This module's API (:func:`load_run`, :class:`LoadedRun`) is what ``dmilib predict`` is
built on; it is kept stable. Loading never unpickles: each model file is checked to be a
zip holding ``config.json`` before ``keras.saving.load_model(..., safe_mode=True)``.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..degrade import Degradation

RUN_LAYOUT = 1
"""Version of the run-folder layout written by this dmilib; newer ones are refused."""

RUN_FILE = "run.json"


def model_file_name(seed: int) -> str:
    """File name of the model trained with ``seed`` (``seed_00.keras``)."""
    return f"seed_{int(seed):02d}.keras"


def file_sha256(path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_keras_archive(path) -> None:
    """Raise ValueError unless ``path`` is a zip archive with a ``config.json`` (a ``.keras`` file).

    Only the zip directory is read; nothing is deserialized.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"model file {path} does not exist")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a Keras archive (not a zip file); refusing to load it")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile as error:
        raise ValueError(f"{path} is not a readable Keras archive ({error})") from error
    if "config.json" not in names:
        raise ValueError(f"{path} is a zip file without config.json, not a Keras archive; refusing to load it")


def read_run_info(path) -> dict:
    """``run.json`` of the run folder ``path`` as a dict, checked for layout and required keys."""
    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(f"run folder {folder} does not exist")
    info_path = folder / RUN_FILE
    if not info_path.is_file():
        raise ValueError(f"{folder} has no {RUN_FILE}: not a dmilib training run (train one with `dmilib train`)")
    try:
        info = json.loads(info_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{info_path} is not valid JSON ({error})") from error
    if not isinstance(info, dict):
        raise ValueError(f"{info_path} must hold a JSON object")
    layout = info.get("layout")
    if not isinstance(layout, int) or layout < 1:
        raise ValueError(f"{info_path} has no valid 'layout' field (got {layout!r})")
    if layout > RUN_LAYOUT:
        raise ValueError(f"{info_path} has layout {layout}, newer than this dmilib reads ({RUN_LAYOUT}); "
                         "upgrade dmilib")
    for key in ("degradation", "label", "input_shape", "models"):
        if key not in info:
            raise ValueError(f"{info_path} lacks the field {key!r}")
    return info


@dataclass
class LoadedRun:
    """A trained run: its models and how to feed them.

    Attributes
    ----------
    path : Path
        The run folder.
    models : list of keras.Model
        One CNN per completed seed, in the order of ``seeds``.
    seeds : list of int
        The seed of each model.
    info : dict
        The parsed ``run.json`` (see the module docstring).
    degradation : dmilib.degrade.Degradation
        The degradation the models were trained on; apply it (``training=False``) to a raw
        ``(N, 3, H, W)`` magnetization to obtain model inputs.
    """

    path: Path
    models: list
    seeds: list
    info: dict
    degradation: Degradation

    @property
    def inference_degradation(self):
        """:attr:`degradation` without noise: what to apply to a new (e.g. measured) image.

        Component, pixelation, blur and camera pixel are kept; the training noise is not
        added to an image that should be analysed as it is.
        """
        return Degradation.from_dict({**self.degradation.to_dict(), "noise_sigma": 0.0, "noise_copies": 1})

    @property
    def label_scale(self) -> float:
        """Model output per J/m^2 (1000: the models predict mJ/m^2)."""
        return float(self.info["label"]["model_unit_scale"])

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(H, W, C)`` the models take."""
        return tuple(int(v) for v in self.info["input_shape"])

    @property
    def training_cell_size_m(self) -> float | None:
        """Cell size (m) of the training simulations (``datasets[0].cell_size_m[0]``); None if absent."""
        try:
            return float(self._first_dataset()["cell_size_m"][0])
        except (KeyError, IndexError, TypeError, ValueError):
            return None

    @property
    def training_grid_shape(self) -> tuple[int, int] | None:
        """``(H, W)`` cells of the training simulations (``datasets[0].shape``); None if absent."""
        try:
            shape = tuple(int(n) for n in self._first_dataset()["shape"])
        except (KeyError, TypeError, ValueError):
            return None
        return shape if len(shape) == 2 else None

    @property
    def input_pixel_size_m(self) -> float | None:
        """Pixel size (m) of the model's input images; None for runs that did not record it."""
        value = self.info.get("input_pixel_size_m")
        return None if value is None else float(value)

    @property
    def training_images(self) -> dict:
        """Ranges of the training images (D, fields, bubble measures; ``run.json`` ``training_images``), or {}."""
        return dict(self.info.get("training_images") or {})

    @property
    def conformal(self) -> dict | None:
        """The split-conformal calibration (``run.json`` ``conformal``), None for an uncalibrated run."""
        return self.info.get("conformal") or None

    @property
    def series_sizes(self) -> dict:
        """Series size (str) -> its calibration entry (``run.json`` ``series.sizes``), or {}."""
        return dict((self.info.get("series") or {}).get("sizes") or {})

    def _first_dataset(self) -> dict:
        datasets = self.info.get("datasets") or [{}]
        return datasets[0] if isinstance(datasets[0], dict) else {}

    @property
    def uses_fields(self) -> bool:
        """True when the models take the applied fields beside the image (``dmilib train --fields``)."""
        return "fields" in ((self.info.get("model") or {}).get("inputs") or [])

    def predict_J_per_m2(self, images: np.ndarray, batch_size: int = 64, *, fields_mT=None) -> np.ndarray:
        """D in J/m^2 predicted by every model for already-degraded ``images`` ``(N, H, W, C)``.

        Parameters
        ----------
        fields_mT : array_like, shape (N, 2), optional
            ``mu0 Hz, mu0 Hx`` in mT of each image; required by a run trained with fields
            (:attr:`uses_fields`), ignored otherwise.

        Returns
        -------
        numpy.ndarray, shape (n_models, N)
            Take the mean over axis 0 for the ensemble estimate.
        """
        array = np.asarray(images, dtype=np.float32)
        if array.ndim != 4 or array.shape[1:] != self.input_shape:
            raise ValueError(f"images must have shape (N, {', '.join(map(str, self.input_shape))}), "
                             f"got {array.shape}")
        if self.uses_fields:
            if fields_mT is None:
                raise ValueError(f"the models of {self.path} were trained with the applied fields as inputs: give "
                                 "the fields of each image (mu0 Hz and mu0 Hx in mT; CLI: --Hz-mT and --Hx-mT)")
            from .field_model import predict_field_cnn

            return np.stack([predict_field_cnn(model, array, fields_mT, batch_size)
                             for model in self.models]) / self.label_scale
        from .model import predict

        return np.stack([predict(model, array, batch_size) for model in self.models]) / self.label_scale


def load_run(path) -> LoadedRun:
    """Load a run folder written by :func:`dmilib.learn.experiment.run_experiment`.

    Parameters
    ----------
    path : str or Path
        The run folder (holding ``run.json`` and ``seed_XX.keras``).

    Returns
    -------
    LoadedRun

    Raises
    ------
    ValueError
        If ``run.json`` is missing, unreadable or of a newer layout; if no seed is
        complete; if a listed model file is missing, differs from the SHA-256 recorded in
        ``run.json``, or is not a Keras archive (a zip
        holding ``config.json``; checked before Keras opens it, and the model is loaded
        with ``safe_mode=True``, so nothing is ever unpickled).
    """
    import keras

    folder = Path(path)
    info = read_run_info(folder)
    entries = info["models"]
    if not isinstance(entries, dict) or not entries:
        raise ValueError(f"{folder / RUN_FILE} lists no trained model (training was interrupted before the first "
                         "seed finished; rerun the same `dmilib train` command)")
    seeds = sorted(int(seed) for seed in entries)
    models = []
    for seed in seeds:
        file_name = entries[str(seed)].get("file", model_file_name(seed))
        model_path = folder / file_name
        if Path(file_name).name != file_name:
            raise ValueError(f"{folder / RUN_FILE}: model file name {file_name!r} must not contain a folder")
        check_keras_archive(model_path)
        expected = entries[str(seed)].get("sha256")
        if expected is not None and file_sha256(model_path) != expected:
            raise ValueError(f"{model_path}: its SHA-256 differs from the one {RUN_FILE} recorded when it was "
                             "trained (the file was replaced or altered); refusing to load it: put back the "
                             "run's own file or retrain with the same `dmilib train` command into a new folder")
        models.append(keras.saving.load_model(model_path, safe_mode=True))
    degradation = Degradation.from_dict(dict(info["degradation"]))
    return LoadedRun(path=folder, models=models, seeds=seeds, info=info, degradation=degradation)
