"""Dataset configuration: geometry, material, disorder, the bubble protocol, and presets.

Every number of the study is a field here with the paper's value as the default (the
``paper`` preset); ``quick`` is sized for a 2-core CPU and ``tiny`` for the test suite.
Any field can be overridden from a YAML file or ``--set section.field=value`` on the CLI.
Fields are flux densities ``mu0 H`` in tesla: ``Hz_T = -6e-3`` is the paper's "Hz = -6 mT".
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import yaml

from .. import formulary
from ..simulate.geometry import Grid
from ..simulate.material import Material


def _millitesla_range(start_mT: float, stop_mT: float, step_mT: float) -> tuple[float, ...]:
    count = int(round((stop_mT - start_mT) / step_mT)) + 1
    return tuple(round((start_mT + k * step_mT) * 1e-3, 9) for k in range(count))


def _d_range(stop: float, step: float, start: float = 0.0) -> tuple[float, ...]:
    count = int(round((stop - start) / step)) + 1
    return tuple(round((start + k * step) * 1e-3, 9) for k in range(count))


@dataclass(frozen=True)
class GeometryConfig:
    """The disk: ``disk_diameter_m`` (795 nm), ``cell_size_m`` (1.5 nm), ``thickness_m`` (12 nm)."""

    disk_diameter_m: float = 795e-9
    cell_size_m: float = 1.5e-9
    thickness_m: float = 12e-9

    def grid(self) -> Grid:
        return Grid.disk(self.disk_diameter_m, self.cell_size_m, self.thickness_m)


@dataclass(frozen=True)
class MaterialConfig:
    """Film parameters: ``Ms_A_per_m`` 0.55e6, ``A_J_per_m`` 10e-12, ``Ku_J_per_m3`` 0.33e6."""

    Ms_A_per_m: float = 0.55e6
    A_J_per_m: float = 10e-12
    Ku_J_per_m3: float = 0.33e6


@dataclass(frozen=True)
class DisorderConfig:
    """Voronoi grains: mean diameter (20 nm, not given by the paper), Ku spread 5 %, seeds."""

    mean_grain_diameter_m: float = 20e-9
    relative_sigma: float = 0.05
    tessellation_seeds: tuple[int, ...] = (0, 1, 2, 3, 4, 5)


@dataclass(frozen=True)
class ProtocolConfig:
    """The bubble protocol (fields in tesla).

    1. Start saturated along +z, seed a reversed bubble of ``seed_radius_m`` with a wall
       profile at the centre and relax at ``Hz = nucleation_Hz_T``, ``Hx = 0``. (The paper
       nucleates by ramping Hz until a bubble appears at -6 mT; seeding a nucleus reaches the
       same state without depending on the nucleation site, which in a defect-free film is
       set by numerical noise.)
    2. Apply ``Hx = Hx_T`` and relax.
    3. Step Hz from ``nucleation_Hz_T`` to ``final_Hz_T`` by ``Hz_step_T`` (paper: -0.01 mT),
       relaxing at each step; keep the states at ``snapshot_Hz_T`` (default every 0.5 mT).

    Every relaxation uses ``relax_method`` (see :func:`dmilib.simulate.relax`) to
    ``torque_tolerance_T``, within ``max_iterations`` and ``max_seconds_per_stage``.
    ``predictor = "secant"`` starts each Hz step from the linear extrapolation of the two
    previous relaxed states under Hx (``m_k + (m_k - m_k-1) dHz_k+1 / dHz_k``, normalized)
    instead of the last state (``"none"``): the walls start near where they will settle.
    """

    nucleation_Hz_T: float = -6e-3
    seed_radius_m: float = 250e-9
    Hx_T: float = 0.1
    final_Hz_T: float = -10e-3
    Hz_step_T: float = -0.01e-3
    snapshot_Hz_T: tuple[float, ...] = _millitesla_range(-6.0, -10.0, -0.5)
    # 3e-5 T, measured (python -m dmilib.bench relax --scan, float64 reference at 1e-6 T):
    # at 1e-4 T the bubbles stop 2 % short in reversed area and some sit displaced along the
    # disk's soft translation mode (max |dm| = 2); at 3e-5 T the area is within 0.1 %.
    torque_tolerance_T: float = 3e-5
    max_iterations: int = 60_000
    relax_method: str = "pbb"
    predictor: str = "secant"
    max_seconds_per_stage: float = 3600.0

    def sweep_fields_T(self, step_T: float | None = None) -> np.ndarray:
        """Hz values of stage 3, excluding the starting field, ending at ``final_Hz_T``."""
        step = self.Hz_step_T if step_T is None else step_T
        count = int(round((self.final_Hz_T - self.nucleation_Hz_T) / step))
        return np.round(self.nucleation_Hz_T + step * np.arange(1, count + 1), 12)


@dataclass(frozen=True)
class DatasetConfig:
    """Everything that determines a dataset; its hash identifies a store's parameters."""

    preset: str = "paper"
    geometry: GeometryConfig = field(default_factory=GeometryConfig)
    material: MaterialConfig = field(default_factory=MaterialConfig)
    disorder: DisorderConfig = field(default_factory=DisorderConfig)
    protocol: ProtocolConfig = field(default_factory=ProtocolConfig)
    uniform_D_J_per_m2: tuple[float, ...] = _d_range(1.0, 0.01)
    nonuniform_D_J_per_m2: tuple[float, ...] = _d_range(1.0, 0.1)
    dtype: str = "float32"
    runs_per_task: int = 1

    # --- derived -------------------------------------------------------------------
    def grid(self) -> Grid:
        return self.geometry.grid()

    def material_for(self, D_J_per_m2, Ku_J_per_m3=None) -> Material:
        m = self.material
        ku = m.Ku_J_per_m3 if Ku_J_per_m3 is None else Ku_J_per_m3
        return Material(Ms_A_per_m=m.Ms_A_per_m, A_J_per_m=m.A_J_per_m, Ku_J_per_m3=ku, D_J_per_m2=D_J_per_m2)

    def runs(self) -> list[tuple[float, int]]:
        """``(D, tessellation)`` of every run in store order; tessellation -1 is uniform."""
        uniform = [(d, -1) for d in self.uniform_D_J_per_m2]
        nonuniform = [(d, seed) for seed in self.disorder.tessellation_seeds for d in self.nonuniform_D_J_per_m2]
        return uniform + nonuniform

    @property
    def snapshots_per_run(self) -> int:
        return len(self.protocol.snapshot_Hz_T)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def parameters_hash(self) -> str:
        """SHA-256 of every field that changes the data (not ``preset`` or ``runs_per_task``).

        Floats enter with 12 significant digits, so ``-9e-3`` and ``-0.009000000000000001``
        (the same field written two ways) identify the same dataset.
        """
        data = self.to_dict()
        data.pop("runs_per_task")
        data.pop("preset")
        return hashlib.sha256(json.dumps(_canonical(data), sort_keys=True).encode()).hexdigest()

    # --- validation ------------------------------------------------------------------
    def validate(self) -> list[str]:
        """Raise ValueError for non-physical parameters; return warnings for doubtful ones.

        Checked before any work starts: every number is a number (not a boolean) within the
        physical range of :data:`FIELD_RANGES` (the message names the field and the range);
        tessellation seeds are distinct integers >= 0; the grid is at most
        :data:`MAX_GRID_CELLS` cells across (memory); the cell size is below the exchange
        length (a warning above half of it); D within ``4 sqrt(A K_eff) / pi``; a non-empty
        disk; a Hz sweep of at least one and at most :data:`MAX_SWEEP_STEPS` steps whose
        snapshots lie on the sweep.
        """
        problems: list[str] = []
        notes: list[str] = []
        mat, geo, proto = self.material, self.geometry, self.protocol
        problems += _range_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        exchange_length = formulary.exchange_length_m(mat.A_J_per_m, mat.Ms_A_per_m)
        if geo.cell_size_m > exchange_length:
            problems.append(f"geometry.cell_size_m = {geo.cell_size_m:.3g} m exceeds the exchange length "
                            f"{exchange_length:.3g} m (allowed: at most {exchange_length:.3g} m, ideally half)")
        elif geo.cell_size_m > exchange_length / 2:
            notes.append(f"geometry.cell_size_m = {geo.cell_size_m:.3g} m is above half the exchange length "
                         f"({exchange_length / 2:.3g} m): walls are under-resolved")
        cells = int(math.ceil(geo.disk_diameter_m / geo.cell_size_m))
        if cells > MAX_GRID_CELLS:
            # ~1 kB per cell: float64 m, fields, minimizer state and the zero-padded FFT buffers.
            estimate = cells**2 * BYTES_PER_CELL / 2**30
            problems.append(f"geometry: a {geo.disk_diameter_m:.3g} m disk in {geo.cell_size_m:.3g} m cells is a "
                            f"{cells} x {cells} grid needing about {estimate:.3g} GiB per run; the limit is "
                            f"{MAX_GRID_CELLS} cells across (disk_diameter_m / cell_size_m <= {MAX_GRID_CELLS})")
        if geo.disk_diameter_m < 3 * geo.cell_size_m:
            problems.append("geometry.disk_diameter_m must span at least 3 cells (the mask would be empty)")
        # the weakest grain (Ku three standard deviations below the mean) sets the limit on D
        k_eff = formulary.effective_anisotropy_J_per_m3(mat.Ku_J_per_m3 * (1 - 3 * self.disorder.relative_sigma),
                                                        mat.Ms_A_per_m)
        d_all = np.abs(np.array(self.uniform_D_J_per_m2 + self.nonuniform_D_J_per_m2, dtype=float))
        if d_all.size == 0:
            problems.append("uniform_D_J_per_m2 and nonuniform_D_J_per_m2 are both empty: nothing to generate")
        elif not np.all(np.isfinite(d_all)):
            problems.append("D values must be finite")
        elif k_eff <= 0:
            problems.append(f"K_eff = Ku - mu0 Ms^2/2 = {k_eff:.3g} J/m3 is not positive: no perpendicular bubbles")
        else:
            d_critical = formulary.critical_dmi_J_per_m2(mat.A_J_per_m, k_eff)
            if d_all.max() >= d_critical:
                problems.append(f"D = {d_all.max():.3g} J/m2 is beyond the critical 4 sqrt(A K_eff)/pi = "
                                f"{d_critical:.3g} J/m2 (allowed: |D| < {d_critical:.3g}; K_eff of the weakest grain)")
        if self.nonuniform_D_J_per_m2 and not self.disorder.tessellation_seeds:
            problems.append("disorder.tessellation_seeds is empty but nonuniform_D_J_per_m2 is not")
        if not (0 <= self.disorder.relative_sigma < 0.5):
            problems.append(f"disorder.relative_sigma must be in [0, 0.5), got {self.disorder.relative_sigma!r}")
        if proto.Hz_step_T == 0 or np.sign(proto.Hz_step_T) != np.sign(proto.final_Hz_T - proto.nucleation_Hz_T):
            problems.append(f"protocol.Hz_step_T = {proto.Hz_step_T!r} gives a sweep of zero steps from "
                            f"{proto.nucleation_Hz_T} T to {proto.final_Hz_T} T (it must be non-zero and point "
                            "from nucleation_Hz_T to final_Hz_T)")
        elif abs((proto.final_Hz_T - proto.nucleation_Hz_T) / proto.Hz_step_T) > MAX_SWEEP_STEPS:
            problems.append(f"protocol: the sweep from {proto.nucleation_Hz_T} T to {proto.final_Hz_T} T in steps of "
                            f"{proto.Hz_step_T} T has more than {MAX_SWEEP_STEPS} steps (allowed: at most "
                            f"{MAX_SWEEP_STEPS}; raise protocol.Hz_step_T)")
        else:
            sweep = np.concatenate([[proto.nucleation_Hz_T], proto.sweep_fields_T()])
            if abs(sweep[-1] - proto.final_Hz_T) > 1e-9:
                problems.append("protocol: (final_Hz_T - nucleation_Hz_T) must be a whole number of Hz_step_T")
            missing = [h for h in proto.snapshot_Hz_T if np.min(np.abs(sweep - h)) > 1e-9]
            if missing:
                problems.append(f"protocol.snapshot_Hz_T values {missing} are not on the Hz sweep")
            if not proto.snapshot_Hz_T:
                problems.append("protocol.snapshot_Hz_T is empty: a run would keep no image")
        if proto.relax_method not in ("bb", "pbb"):
            problems.append(f"protocol.relax_method must be 'bb' or 'pbb', got {proto.relax_method!r}")
        if proto.predictor not in ("none", "secant"):
            problems.append(f"protocol.predictor must be 'none' or 'secant', got {proto.predictor!r}")
        if not (isinstance(proto.max_seconds_per_stage, (int, float)) and proto.max_seconds_per_stage > 0):
            problems.append(f"protocol.max_seconds_per_stage must be > 0 s, got {proto.max_seconds_per_stage!r}")
        if not proto.torque_tolerance_T > 0:
            problems.append(f"protocol.torque_tolerance_T must be > 0, got {proto.torque_tolerance_T!r}")
        if not proto.seed_radius_m > 0 or proto.seed_radius_m >= geo.disk_diameter_m / 2:
            problems.append(f"protocol.seed_radius_m must be in (0, disk radius), got {proto.seed_radius_m!r}")
        if self.dtype not in ("float32", "float64"):
            problems.append(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if not (isinstance(self.runs_per_task, int) and self.runs_per_task >= 1):
            problems.append(f"runs_per_task must be an integer >= 1, got {self.runs_per_task!r}")
        if problems:
            raise ValueError("; ".join(problems))
        for note in notes:
            warnings.warn(note, stacklevel=2)
        return notes


#: Physical range ``(low, high, what)`` of every numeric field, inclusive unless noted in
#: :func:`_range_problems`. Wide enough for any film of the study's kind, narrow enough to
#: catch a unit slip (nm for m, mT for T) or a boolean read as 0 / 1.
FIELD_RANGES = {
    "geometry.disk_diameter_m": (10e-9, 100e-6, "m"),
    "geometry.cell_size_m": (0.1e-9, 100e-9, "m"),
    "geometry.thickness_m": (0.1e-9, 1e-6, "m"),
    "material.Ms_A_per_m": (1e3, 5e6, "A/m"),
    "material.A_J_per_m": (1e-13, 1e-9, "J/m"),
    "material.Ku_J_per_m3": (0.0, 1e8, "J/m^3"),
    "disorder.mean_grain_diameter_m": (1e-9, 100e-6, "m"),
    "disorder.relative_sigma": (0.0, 0.5, "(fraction, upper end excluded)"),
    "protocol.nucleation_Hz_T": (-10.0, 10.0, "T"),
    "protocol.seed_radius_m": (0.1e-9, 50e-6, "m"),
    "protocol.Hx_T": (-10.0, 10.0, "T"),
    "protocol.final_Hz_T": (-10.0, 10.0, "T"),
    "protocol.Hz_step_T": (-1.0, 1.0, "T"),
    "protocol.torque_tolerance_T": (1e-12, 1.0, "T"),
    "protocol.max_iterations": (1, 100_000_000, "iterations"),
    "protocol.snapshot_Hz_T": (-10.0, 10.0, "T"),
    "uniform_D_J_per_m2": (-0.01, 0.01, "J/m^2"),
    "nonuniform_D_J_per_m2": (-0.01, 0.01, "J/m^2"),
    "runs_per_task": (1, 100_000, "runs"),
}
INTEGER_FIELDS = ("protocol.max_iterations", "runs_per_task")
#: Largest grid side in cells (a 4096^2 grid needs about 16 GiB per run).
MAX_GRID_CELLS = 4096
BYTES_PER_CELL = 1024
#: Most Hz steps of one sweep (each is a relaxation).
MAX_SWEEP_STEPS = 100_000
MAX_SEED = 2**32 - 1


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _range_problems(config: "DatasetConfig") -> list[str]:
    """One message per numeric field that is not a number or outside :data:`FIELD_RANGES`."""
    problems = []
    for name, (low, high, unit) in FIELD_RANGES.items():
        obj = config
        for part in name.split("."):
            obj = getattr(obj, part)
        values = obj if isinstance(obj, (tuple, list)) else (obj,)
        for value in values:
            allowed = f"[{low:g}, {high:g}] {unit}"
            if not _is_number(value):
                problems.append(f"{name} must be a number in {allowed}, got {value!r}")
                break
            if name in INTEGER_FIELDS and not float(value).is_integer():
                problems.append(f"{name} must be an integer in {allowed}, got {value!r}")
                break
            upper_ok = value < high if name == "disorder.relative_sigma" else value <= high
            if not (math.isfinite(value) and low <= value and upper_ok):
                problems.append(f"{name} must be in {allowed}, got {value!r}")
                break
    seeds = config.disorder.tessellation_seeds
    for seed in seeds:
        if not _is_number(seed) or not float(seed).is_integer() or not 0 <= seed <= MAX_SEED:
            problems.append(f"disorder.tessellation_seeds must be integers in [0, {MAX_SEED}] (-1 marks a uniform "
                            f"film in the store, it is not a seed), got {seed!r}")
            break
    if len(set(seeds)) != len(seeds):
        problems.append(f"disorder.tessellation_seeds must be distinct, got {list(seeds)}")
    if not isinstance(config.geometry.disk_diameter_m, bool) and _is_number(config.disorder.mean_grain_diameter_m) \
            and _is_number(config.geometry.disk_diameter_m) \
            and config.disorder.mean_grain_diameter_m > config.geometry.disk_diameter_m:
        problems.append(f"disorder.mean_grain_diameter_m = {config.disorder.mean_grain_diameter_m!r} m exceeds "
                        f"the disk diameter {config.geometry.disk_diameter_m!r} m (allowed: at most the disk)")
    return problems


def _canonical(value):
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    return value


def _quick() -> DatasetConfig:
    # The book's default, sized for a 2-core CPU: the study's disk and film with 3.5 nm
    # cells (227 x 227; the exchange length is 7.25 nm, so this is just under half of it),
    # Hz in 1 mT steps with a snapshot at each (-6 to -10 mT), uniform films every
    # 0.05 mJ/m^2 and two tessellations every 0.1 mJ/m^2: 43 runs, 215 images, so that a
    # grouped test split of a fifth of the runs holds 40 or more images. Smaller disks were
    # tried and rejected: below ~500 nm the D = 0 bubble collapses.
    return DatasetConfig(
        preset="quick",
        geometry=GeometryConfig(disk_diameter_m=795e-9, cell_size_m=3.5e-9),
        disorder=DisorderConfig(tessellation_seeds=(0, 1)),
        protocol=ProtocolConfig(Hz_step_T=-1e-3, snapshot_Hz_T=_millitesla_range(-6.0, -10.0, -1.0)),
        uniform_D_J_per_m2=_d_range(1.0, 0.05),
        nonuniform_D_J_per_m2=_d_range(1.0, 0.1),
    )


def _tiny() -> DatasetConfig:
    # For the test suite only: a 200 nm disk where bubbles survive only with strong DMI,
    # so D = 0 collapses and exercises the failed-run path.
    return DatasetConfig(
        preset="tiny",
        geometry=GeometryConfig(disk_diameter_m=200e-9, cell_size_m=3e-9),
        material=MaterialConfig(Ku_J_per_m3=0.30e6),
        disorder=DisorderConfig(tessellation_seeds=(0,)),
        protocol=ProtocolConfig(seed_radius_m=60e-9, Hz_step_T=-1e-3, snapshot_Hz_T=_millitesla_range(-6.0, -10.0, -2.0),
                                torque_tolerance_T=2e-4),
        uniform_D_J_per_m2=(0.0, 0.9e-3, 1.0e-3),
        nonuniform_D_J_per_m2=(1.0e-3,),
    )


def _standard() -> DatasetConfig:
    # The study's size on a 2-core CPU: its film, disk, D grid (uniform every 0.01 mJ/m2,
    # six tessellations every 0.1) and 9 snapshots per run from -6 to -10 mT, on 3 nm cells
    # (265 x 265; the exchange length is 7.25 nm and the wall width sqrt(A/K_eff) 8.5 nm)
    # instead of 1.5 nm, and Hz steps of 0.5 mT (one per snapshot) instead of 0.01 mT:
    # `python -m dmilib.bench relax` measured how far a coarser step and a looser torque
    # move the snapshots (see the dataset chapter). 167 runs, 1503 images.
    return DatasetConfig(
        preset="standard",
        geometry=GeometryConfig(disk_diameter_m=795e-9, cell_size_m=3e-9),
        protocol=ProtocolConfig(Hz_step_T=-0.5e-3, snapshot_Hz_T=_millitesla_range(-6.0, -10.0, -0.5)),
    )


PRESETS = {"paper": DatasetConfig, "standard": _standard, "quick": _quick, "tiny": _tiny}


def preset(name: str) -> DatasetConfig:
    """The named preset: ``paper``, ``standard``, ``quick`` or ``tiny``."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {name!r}")
    return PRESETS[name]()


def _coerce(current, value, path: str):
    if isinstance(value, bool) and not isinstance(current, bool) and isinstance(current, (int, float, tuple)):
        raise ValueError(f"{path} must be a number, got the boolean {value!r}")
    if isinstance(current, (int, float)) and not isinstance(current, bool) and not _is_number(value):
        try:
            value = float(value)  # PyYAML reads "5e-2" (no dot) as a string
        except (TypeError, ValueError):
            raise ValueError(f"{path} must be a number, got {value!r}") from None
    if isinstance(current, bool):
        if isinstance(value, str):
            return value.lower() in ("1", "true", "yes")
        return bool(value)
    if isinstance(current, int) and not isinstance(current, bool):
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{path} must be an integer, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{path} must be a finite integer, got {value!r}")
        return int(value)
    if isinstance(current, float):
        return float(value)
    if isinstance(current, tuple):
        if isinstance(value, str):
            value = yaml.safe_load(value)
        if not isinstance(value, (list, tuple)):
            value = [value]
        element = current[0] if current else (0 if path.endswith("seeds") else 0.0)
        return tuple(_coerce(element, v, path) for v in value)
    return value


def with_overrides(config: DatasetConfig, overrides: dict) -> DatasetConfig:
    """A copy of ``config`` with nested ``overrides`` applied (``{"protocol": {"Hx_T": 0.05}}``).

    Dotted keys are accepted too (``{"protocol.Hx_T": 0.05}``). Unknown keys raise ValueError.
    """
    nested: dict = {}
    for key, value in overrides.items():
        parts = key.split(".")
        target = nested
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        if isinstance(value, dict) and parts[-1] in target:
            target[parts[-1]].update(value)
        else:
            target[parts[-1]] = value

    def apply(obj, changes: dict, prefix: str):
        names = {f.name for f in dataclasses.fields(obj)}
        updates = {}
        for key, value in changes.items():
            path = f"{prefix}{key}"
            if key not in names:
                raise ValueError(f"unknown configuration field {path!r} (known: {sorted(names)})")
            current = getattr(obj, key)
            if dataclasses.is_dataclass(current):
                if not isinstance(value, dict):
                    raise ValueError(f"{path} is a section; give its fields, e.g. {path}.<field>=value")
                updates[key] = apply(current, value, path + ".")
            else:
                updates[key] = _coerce(current, yaml.safe_load(value) if isinstance(value, str) and not isinstance(current, str) else value, path)
        return dataclasses.replace(obj, **updates)

    return apply(config, nested, "")


def load_config(preset_name: str = "quick", yaml_path=None, sets: list[str] | None = None) -> DatasetConfig:
    """A preset, then the YAML file's fields, then ``key=value`` overrides, validated."""
    config = preset(preset_name)
    if yaml_path is not None:
        try:
            with open(yaml_path) as handle:
                data = yaml.safe_load(handle) or {}
        except OSError as error:
            raise ValueError(f"--config {yaml_path}: cannot read the file ({error.strerror or error})") from error
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise ValueError(f"--config {yaml_path}: not valid YAML ({' '.join(str(error).split())})") from error
        if not isinstance(data, dict):
            raise ValueError(f"{yaml_path}: expected a mapping of configuration fields")
        if "preset" in data:
            config = preset(data.pop("preset"))
        config = with_overrides(config, data)
    for item in sets or []:
        if "=" not in item:
            raise ValueError(f"override {item!r} must look like section.field=value")
        key, value = item.split("=", 1)
        try:
            config = with_overrides(config, {key.strip(): value.strip()})
        except yaml.YAMLError as error:
            raise ValueError(f"override {item!r}: the value is not valid YAML") from error
    return config


#: Protocol fields added after stores were written without them, with the value those
#: stores were made with (so that their parameters hash is recomputed unchanged).
_LEGACY_PROTOCOL = {"relax_method": "bb", "predictor": "none", "max_seconds_per_stage": 3600.0}


def config_from_dict(data: dict) -> DatasetConfig:
    """Rebuild a configuration from :meth:`DatasetConfig.to_dict` output (e.g. store attributes)."""
    data = {k: v for k, v in data.items()}
    if isinstance(data.get("protocol"), dict):
        data["protocol"] = {**_LEGACY_PROTOCOL, **data["protocol"]}
    return with_overrides(DatasetConfig(), data)
