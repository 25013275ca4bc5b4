"""Benchmarks that print figures: ``python -m dmilib.bench solver|relax|train [--json]``.

``relax``: field evaluations, seconds and accuracy of a relaxed image for each relaxation
method on a fixed set of quick-preset runs (see :mod:`dmilib.bench_relax`).

``solver``: time of one full effective-field evaluation and of one minimizer iteration
on the study's disk at the quick grid (265 x 265 cells of 3 nm) and the paper grid
(530 x 530 cells of 1.5 nm), in milliseconds and nanoseconds per cell (per grid cell,
batch included), on the backend asked for.

``train``: training images per second of the paper's CNN (batch 32, after a warm-up step)
at 53, 106 and 265 pixels square (the paper grid pixelated by 10, 5 and 2), with 1 and 3
channels, on the Keras backend in use (``KERAS_BACKEND``; printed).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time

import numpy as np

from . import __version__
from .backend import resolve_backend
from .bench_relax import BENCH_METHODS, bench_protocol_scan, bench_relax, print_relax_table, print_scan_table
from .simulate import Grid, Material, System, relax
from .simulate.textures import bubble

GRIDS = {265: 3e-9, 530: 1.5e-9}
DISK_DIAMETER_M = 795e-9
THICKNESS_M = 12e-9


def _timed(function, backend, repeats: int) -> float:
    """Median wall time of ``function()`` in seconds, device work included."""
    function()
    backend.synchronize()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        backend.synchronize()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_solver(grid_sizes=(265, 530), backend="auto", dtype="float32", batch=1, repeats=10, iterations=50) -> list[dict]:
    """Time the field evaluation and a minimizer iteration; return one record per grid."""
    array_backend = resolve_backend(backend)
    records = []
    for n in grid_sizes:
        if n not in GRIDS:
            raise ValueError(f"grid size must be one of {sorted(GRIDS)}, got {n}")
        grid = Grid.disk(DISK_DIAMETER_M, GRIDS[n], THICKNESS_M)
        material = Material(D_J_per_m2=np.linspace(0, 1e-3, batch))
        start = time.perf_counter()
        system = System(grid, material, (0.1, 0.0, -6e-3), backend=array_backend, dtype=dtype)
        setup_s = time.perf_counter() - start
        m = system.asarray(np.stack([bubble(grid, 150e-9)] * batch))
        out = system.xp.empty_like(m)
        field_s = _timed(lambda: system.effective_field_T(m, out=out), array_backend, repeats)

        def minimize():
            relax(system, m, torque_tolerance_T=1e-12, max_iterations=iterations, raise_on_failure=False)

        minimize_s = _timed(minimize, array_backend, max(1, repeats // 5)) / iterations
        cells = n * n * batch
        records.append(
            {
                "grid": f"{n}x{n}",
                "cell_size_nm": GRIDS[n] * 1e9,
                "batch": batch,
                "backend": array_backend.name,
                "dtype": str(system.dtype),
                "setup_s": setup_s,
                "field_ms": field_s * 1e3,
                "field_ns_per_cell": field_s * 1e9 / cells,
                "minimizer_iteration_ms": minimize_s * 1e3,
                "minimizer_iteration_ns_per_cell": minimize_s * 1e9 / cells,
            }
        )
    return records


TRAIN_SIZES = (53, 106, 265)
"""Image sides of the training benchmark: the paper's 530-cell grid pixelated by 10, 5 and 2."""


def bench_train(sizes=TRAIN_SIZES, channels=(1, 3), batch_size: int = 32, steps: int = 5,
                repeats: int = 3) -> list[dict]:
    """Training throughput of the paper's CNN on the Keras backend in use.

    For each image side and channel count: build the model on random images, run one
    warm-up step (compilation), then time ``steps`` optimizer steps of ``batch_size``
    images (``train_on_batch``) ``repeats`` times; report the median as images per second.
    """
    import keras

    from .learn.model import build_cnn, parameter_count

    for name, value in (("batch_size", batch_size), ("steps", steps), ("repeats", repeats)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    records = []
    rng = np.random.default_rng(0)
    for size in sizes:
        for channel_count in channels:
            keras.utils.set_random_seed(0)
            images = rng.standard_normal((batch_size, size, size, channel_count)).astype(np.float32)
            labels = rng.uniform(0, 1, (batch_size, 1)).astype(np.float32)
            model = build_cnn((size, size, channel_count), [0.0] * channel_count, [1.0] * channel_count)
            model.train_on_batch(images, labels)  # warm-up: tracing / compilation
            samples = []
            for _ in range(repeats):
                start = time.perf_counter()
                for _ in range(steps):
                    loss = model.train_on_batch(images, labels)
                float(np.asarray(loss if np.ndim(loss) == 0 else loss[0]))  # wait for the device
                samples.append(time.perf_counter() - start)
            seconds = statistics.median(samples)
            records.append({
                "image": f"{size}x{size}", "channels": channel_count, "batch": batch_size,
                "backend": keras.backend.backend(), "parameters": parameter_count(channel_count),
                "step_ms": seconds * 1e3 / steps, "images_per_s": batch_size * steps / seconds,
            })
            keras.backend.clear_session()
    return records


def _print_train_table(records: list[dict]) -> None:
    print(f"keras backend: {records[0]['backend'] if records else '?'}")
    print(f"{'image':>9} {'channels':>8} {'batch':>5} {'step ms':>9} {'images/s':>9}")
    for r in records:
        print(f"{r['image']:>9} {r['channels']:>8} {r['batch']:>5} {r['step_ms']:>9.1f} {r['images_per_s']:>9.1f}")


def _print_table(records: list[dict]) -> None:
    header = f"{'grid':>9} {'batch':>5} {'backend':>7} {'dtype':>7} {'field ms':>9} {'ns/cell':>8} {'iter ms':>9} {'ns/cell':>8}"
    print(header)
    for r in records:
        print(
            f"{r['grid']:>9} {r['batch']:>5} {r['backend']:>7} {r['dtype']:>7} {r['field_ms']:>9.2f} "
            f"{r['field_ns_per_cell']:>8.1f} {r['minimizer_iteration_ms']:>9.2f} {r['minimizer_iteration_ns_per_cell']:>8.1f}"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dmilib.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    solver = commands.add_parser("solver", help="field evaluation and minimizer iteration timings")
    solver.add_argument("--grid", type=int, nargs="+", default=[265, 530], choices=sorted(GRIDS))
    solver.add_argument("--backend", default="auto", choices=["auto", "numpy", "cupy"])
    solver.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    solver.add_argument("--batch", type=int, default=1, help="systems advanced together (>= 1)")
    solver.add_argument("--repeats", type=int, default=10, help="timed repetitions (>= 1)")
    solver.add_argument("--iterations", type=int, default=50, help="minimizer iterations per timing (>= 1)")
    solver.add_argument("--json", action="store_true", help="print JSON instead of a table")
    train = commands.add_parser("train", help="training images per second of the paper's CNN")
    train.add_argument("--size", type=int, nargs="+", default=list(TRAIN_SIZES), help="image sides in pixels")
    train.add_argument("--channels", type=int, nargs="+", default=[1, 3], choices=[1, 2, 3])
    train.add_argument("--batch", type=int, default=32, help="images per step (>= 1)")
    train.add_argument("--steps", type=int, default=5, help="timed steps per repetition (>= 1)")
    train.add_argument("--repeats", type=int, default=3, help="timed repetitions (>= 1)")
    train.add_argument("--json", action="store_true", help="print JSON instead of a table")
    relax_parser = commands.add_parser("relax", help="field evaluations and accuracy of each relaxation method")
    relax_parser.add_argument("--tolerance-T", type=float, default=None,
                              help="torque tolerance of every method (default: the quick preset's)")
    relax_parser.add_argument("--methods", nargs="+", default=[name for name, _, _ in BENCH_METHODS],
                              choices=[name for name, _, _ in BENCH_METHODS])
    relax_parser.add_argument("--backend", default="numpy", choices=["auto", "numpy", "cupy"])
    relax_parser.add_argument("--scan", action="store_true",
                              help="instead of comparing methods, scan Hz steps and torque tolerances "
                                   "with the default method against one reference")
    relax_parser.add_argument("--hz-steps-mT", type=float, nargs="+", default=[0.25, 0.5, 1.0],
                              help="with --scan: Hz step sizes in mT (each must divide 1 mT)")
    relax_parser.add_argument("--tolerances-T", type=float, nargs="+", default=[3e-5, 1e-4, 3e-4, 1e-3],
                              help="with --scan: torque tolerances in T")
    relax_parser.add_argument("--json", action="store_true", help="print JSON (a list of rows) instead of a table")
    args = parser.parse_args(argv)
    if args.command == "relax":
        say = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
        if args.tolerance_T is not None and not args.tolerance_T > 0:
            parser.error(f"--tolerance-T must be > 0 T, got {args.tolerance_T}")
        if args.scan:
            if min(args.hz_steps_mT) <= 0 or min(args.tolerances_T) <= 0:
                parser.error("--hz-steps-mT and --tolerances-T must be > 0")
            try:
                records = bench_protocol_scan([-1e-3 * s for s in args.hz_steps_mT], args.tolerances_T,
                                              backend=args.backend, progress=say)
            except ValueError as error:
                parser.error(str(error))
            printer = print_scan_table
        else:
            methods = [m for m in BENCH_METHODS if m[0] in args.methods]
            records = bench_relax(methods, torque_tolerance_T=args.tolerance_T, backend=args.backend, progress=say)
            printer = print_relax_table
        if args.json:
            print(json.dumps(records, indent=2))
        else:
            printer(records)
        return 0
    if args.command == "train":
        for name in ("batch", "steps", "repeats"):
            if getattr(args, name) < 1:
                parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
        if min(args.size) < 8:
            parser.error(f"--size must be >= 8 pixels (three 2x2 poolings), got {min(args.size)}")
        records = bench_train(args.size, args.channels, args.batch, args.steps, args.repeats)
        printer = _print_train_table
    else:
        for name in ("batch", "repeats", "iterations"):
            if getattr(args, name) < 1:
                parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
        records = bench_solver(args.grid, args.backend, args.dtype, args.batch, args.repeats, args.iterations)
        printer = _print_table
    if args.json:
        print(json.dumps({"dmilib": __version__, "machine": platform.machine(), "python": platform.python_version(),
                          "results": records}, indent=2))
    else:
        printer(records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
