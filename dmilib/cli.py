"""The ``dmilib`` command line: ``generate``, ``export``, ``import``, ``train``, ``predict``, ``bench``
(more subcommands join as the pipeline grows). Bad input ends with a one-line message naming the field or
file and the allowed range, and exit status 2 (a file that cannot be read or written: also 2; another
process writing the same store: 3); nothing already computed is lost. ``--debug`` shows the traceback."""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from .dataset.generate import SCHEDULER_HELP
from .dataset.store import StoreBusyError


def _generate(args) -> int:
    from .dataset import generate, load_config

    config = load_config(args.preset, args.config, args.set)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config.validate()
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    if args.runs_per_task is not None:
        from .dataset import with_overrides

        config = with_overrides(config, {"runs_per_task": args.runs_per_task})
    summary = generate(config, args.out, scheduler=args.scheduler, workers=args.workers, overwrite=args.overwrite,
                       retry_failed=args.retry_failed, backend=args.backend, progress=not args.quiet)
    print(json.dumps(summary, indent=2))
    return 0


def _export(args) -> int:
    from .dataset import Dataset
    from .dataset.interop import export_samples

    paths = export_samples(Dataset(args.dataset), args.out, fmt=args.format, indices=args.indices)
    print(f"wrote {len(paths)} file(s) to {args.out}")
    return 0


def _import(args) -> int:
    from .dataset.interop import import_ovf, read_manifest

    layer = "mean" if args.layer == "mean" else None if args.layer is None else _layer_index(args.layer)
    dataset = import_ovf(read_manifest(args.manifest), args.out, overwrite=args.overwrite, layer=layer)
    print(f"imported {len(dataset)} sample(s) into {args.out}")
    return 0


def _layer_index(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"--layer must be a layer index (0, 1, ...) or 'mean', got {text!r}") from None


def _train(args) -> int:
    from .learn.experiment import ExperimentConfig, format_summary, run_experiment, summarize
    from .degrade import Degradation
    from .errors import FieldValueError

    if args.seeds < 1:
        raise ValueError(f"--seeds must be an integer >= 1 (number of seeds 0 .. N-1), got {args.seeds}")
    try:
        degradation = Degradation(component=args.component, pixelation=args.pixelation, noise_sigma=args.noise_sigma,
                                  noise_copies=args.noise_copies,
                                  noise_before_pixelation=not args.noise_after_pixelation,
                                  blur_fwhm_m=args.blur_fwhm_m, pixel_size_m=args.pixel_size_m)
        config = ExperimentConfig(dataset_paths=tuple(args.dataset), subset=args.subset, split=args.split,
                                  split_seed=args.split_seed, test_fraction=args.test_fraction,
                                  degradation=degradation, seeds=tuple(range(args.seeds)), epochs=args.epochs,
                                  batch_size=args.batch_size, learning_rate=args.learning_rate, name=args.name,
                                  fields=args.fields, calibration_fraction=args.calibration_fraction)
    except FieldValueError as error:
        flag = f"--{error.field.replace('_', '-')}"
        raise ValueError(f"{error} ({flag})" if hasattr(args, error.field) else str(error)) from error
    rows = run_experiment(config, args.out, progress=not args.quiet)
    print(format_summary(summarize(rows)))
    print(f"(MAE in mJ/m^2, mean ± std over seeds; results in {args.out}/results.csv, models and run.json beside it)")
    _print_calibration(args.out)
    return 0


def _print_calibration(out) -> None:
    """The ensemble's test MAE and, for a calibrated run, the 90 % interval and its measured coverage."""
    from .learn.artifacts import read_run_info

    info = read_run_info(out)
    ensemble, conformal = info.get("ensemble") or {}, info.get("conformal")
    if ensemble:
        print(f"ensemble of {len(ensemble['seeds'])} seed(s): test MAE {ensemble['test_mae_mJ_per_m2']:.4f} mJ/m^2")
    if conformal:
        half = conformal["half_width_mJ_per_m2"]
        shown = "unbounded (too few calibration images)" if half is None else f"± {half:.4f} mJ/m^2"
        print(f"90% split-conformal interval: {shown} from {conformal['n_calibration_images']} images of "
              f"{conformal['n_calibration_runs']} calibration run(s); coverage on {conformal['n_test_images']} test "
              f"images of {conformal['n_test_runs']} run(s): {conformal['test_coverage']:.1%}")


STRICT_EXIT = 3
"""Exit status of ``dmilib predict --strict`` when any prediction carries a flag."""


def _predict(args) -> int:
    import math

    from .infer import format_prediction, predict

    pixel_size_m = None
    if args.pixel_size_nm is not None:
        if not (math.isfinite(args.pixel_size_nm) and args.pixel_size_nm > 0):
            raise ValueError(f"--pixel-size-nm must be a number > 0 (nanometres), got {args.pixel_size_nm}")
        pixel_size_m = args.pixel_size_nm * 1e-9
    try:
        predictions = predict(args.images, args.model, pixel_size_m=pixel_size_m, component=args.component,
                              Hz_mT=args.Hz_mT, Hx_mT=args.Hx_mT, polarity=args.polarity, levels=args.levels,
                              series=args.series)
    except ValueError as error:
        # Name the command-line options instead of the Python arguments.
        message = str(error)
        for python, option in (("Hz_mT", "--Hz-mT"), ("Hx_mT", "--Hx-mT"), ("levels (black, white)", "--levels")):
            message = message.replace(python, option)
        raise ValueError(message) from error
    if args.json:
        print(json.dumps([p.to_dict() for p in predictions], indent=2))
    else:
        for prediction in predictions:
            print(format_prediction(prediction))
            if not args.quiet:
                for note in prediction.notes:
                    print(f"note: {prediction.path}: {note}", file=sys.stderr)
    flagged = sum(len(p.flags) for p in predictions)
    if args.strict and flagged:
        print(f"dmilib predict: {flagged} flag(s) raised; --strict makes any flag an error", file=sys.stderr)
        return STRICT_EXIT
    return 0


def _add_predict_parser(commands) -> None:
    pred = commands.add_parser("predict", help="infer D from image(s) of a bubble with a trained run",
                               description="Infer D (ensemble mean over the run's seeds, with its calibrated 90%% "
                                           "interval) from .ovf/.omf/.npy magnetizations or .png/.tif Kerr images; "
                                           "one line per image, then one 'flag:' line per thing the model has never "
                                           "seen (no bubble, several bubbles, bubble at the edge, size, pixel or "
                                           "blur outside the training range, ...). With flags the exit status is "
                                           "0, or 3 with --strict.")
    pred.add_argument("--model", required=True, metavar="RUN", help="run folder written by `dmilib train`")
    pred.add_argument("images", nargs="+", metavar="IMAGE",
                      help=".ovf, .omf, .npy, .png, .tif or .tiff file(s); a multi-page TIFF is one image per page")
    pred.add_argument("--pixel-size-nm", type=float,
                      help="pixel size in nm of .npy/.png/.tif images (.ovf files carry their own)")
    pred.add_argument("--component", choices=["mx", "my", "mz"],
                      help="component shown by scalar (camera) images; polar Kerr: mz")
    # Repeated options rather than nargs="+", which would swallow the image paths that follow.
    pred.add_argument("--Hz-mT", dest="Hz_mT", type=float, action="append", metavar="MT",
                      help="applied mu0 Hz in mT: once for every image, or repeated once per image in order "
                           "(required by a run trained with --fields)")
    pred.add_argument("--Hx-mT", dest="Hx_mT", type=float, action="append", metavar="MT",
                      help="applied in-plane mu0 Hx in mT: once, or repeated once per image")
    pred.add_argument("--series", action="store_true",
                      help="the images are one bubble at several fields: print one D (mean of the per-image "
                           "predictions) with the interval calibrated on series")
    pred.add_argument("--polarity", default="auto", choices=["auto", "dark", "bright"],
                      help="which grey level is the bubble (default auto: the phase covering less of the border)")
    pred.add_argument("--levels", type=float, nargs=2, metavar=("BLACK", "WHITE"),
                      help="camera grey levels of the film saturated to m = -1 and m = +1 (instead of the "
                           "1st/99th percentiles)")
    pred.add_argument("--strict", action="store_true", help=f"exit with status {STRICT_EXIT} when any flag is raised")
    pred.add_argument("--json", action="store_true",
                      help="print the predictions as JSON (D_mJ_per_m2, interval_90_mJ_per_m2, flags, ...)")
    pred.add_argument("--quiet", action="store_true", help="no notes on stderr")
    pred.set_defaults(handler=_predict)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dmilib", description="Infer the interfacial DMI from one domain image.")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="generate (or resume) a labelled bubble dataset into a Zarr store",
                              description="Generate a dataset; rerun the same command to resume after an interruption.")
    gen.add_argument("--preset", default="quick", choices=["paper", "standard", "quick", "tiny"],
                     help="parameter preset (default: quick)")
    gen.add_argument("--config", metavar="YAML", help="YAML file of fields overriding the preset")
    gen.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                     help="override one field, e.g. --set protocol.Hx_T=0.05 (repeatable)")
    gen.add_argument("--out", required=True, help="the Zarr store to create or resume, e.g. data/quick.zarr")
    gen.add_argument("--scheduler", default="local", help=SCHEDULER_HELP)
    gen.add_argument("--workers", type=int, help="local cluster size (default: one per core, or per GPU)")
    gen.add_argument("--backend", default="auto", choices=["auto", "numpy", "cupy"])
    gen.add_argument("--runs-per-task", type=int, help="runs relaxed together as one batch (default: preset's)")
    gen.add_argument("--overwrite", action="store_true", help="replace a store made with other parameters")
    gen.add_argument("--retry-failed", action="store_true", help="also rerun runs recorded as failed")
    gen.add_argument("--quiet", action="store_true", help="no progress bar")
    gen.set_defaults(handler=_generate)

    export = commands.add_parser("export", help="write stored samples as OVF 2.0 or text files")
    export.add_argument("--dataset", required=True, help="the Zarr store")
    export.add_argument("--out", required=True, help="output folder")
    export.add_argument("--format", default="ovf", choices=["ovf", "text"])
    export.add_argument("--indices", type=int, nargs="+", help="sample indices (default: every valid sample)")
    export.set_defaults(handler=_export)

    imp = commands.add_parser("import", help="make a dataset store from OVF files (e.g. mumax3 snapshots)")
    imp.add_argument("--manifest", required=True, help="CSV with columns path,D_J_per_m2,Hz_T,Hx_T[,tessellation]")
    imp.add_argument("--out", required=True, help="the Zarr store to create")
    imp.add_argument("--overwrite", action="store_true", help="replace a dmilib store there (nothing else)")
    imp.add_argument("--layer", help="layer of multi-layer OVF files to import: an index (0 = bottom) or 'mean'")
    imp.set_defaults(handler=_import)

    train = commands.add_parser("train", help="train the paper's CNN (and the ridge baseline) on one configuration",
                                description="Train one model per seed; rerun the same command to resume. Prints "
                                            "the test MAE (mJ/m^2) of the CNN and the ridge baseline side by side.")
    train.add_argument("--dataset", action="append", required=True, metavar="ZARR",
                       help="dataset store (repeatable: valid samples are pooled)")
    train.add_argument("--subset", default="both", choices=["both", "uniform", "nonuniform"])
    train.add_argument("--split", default="random",
                       choices=["random", "grouped", "interval-high", "interval-low", "interval-middle"])
    train.add_argument("--split-seed", type=int, default=0, help="seed of the random/grouped split (default 0)")
    train.add_argument("--test-fraction", type=float, default=0.2, help="held-out fraction (default 0.2)")
    train.add_argument("--component", default="all", choices=["all", "mx", "my", "mz", "inplane"])
    train.add_argument("--pixelation", type=int, default=1, help="b x b block averaging (default 1)")
    train.add_argument("--noise-sigma", type=float, default=0.0, help="Gaussian noise std in units of Ms")
    train.add_argument("--noise-copies", type=int, default=1, help="noisy copies per training image")
    train.add_argument("--noise-after-pixelation", action="store_true", help="add the noise after pixelating")
    train.add_argument("--blur-fwhm-m", type=float, default=0.0, help="Kerr optics PSF FWHM in metres (default 0)")
    train.add_argument("--pixel-size-m", type=float, help="Kerr camera pixel size in metres (default: none)")
    train.add_argument("--seeds", type=int, default=10, help="models trained, seeds 0 .. N-1 (default 10)")
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--learning-rate", type=float, default=1e-3)
    train.add_argument("--fields", action="store_true",
                       help="train the field-conditioned CNN: the image and the applied mu0 Hz, mu0 Hx (predict then "
                            "needs --Hz-mT and --Hx-mT)")
    train.add_argument("--calibration-fraction", type=float, default=0.0, metavar="F",
                       help="fraction of the training runs held out to calibrate the 90%% interval (needs --split "
                            "grouped; default 0: no interval)")
    train.add_argument("--name", help="experiment name in the tables (default: the --out folder's name)")
    train.add_argument("--out", required=True, help="run folder to create or resume, e.g. results/mz_b10")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=_train)
    _add_predict_parser(commands)
    commands.add_parser("bench", help="benchmarks (python -m dmilib.bench): `dmilib bench -h` lists them",
                        add_help=False)
    for command in commands.choices.values():
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show the full traceback of an error")
    return parser


def _one_line(text) -> str:
    return " ".join(str(text).split())


def _os_error(error: OSError) -> str:
    """``what: file`` of an OSError (a missing, unreadable or unwritable file or folder)."""
    where = " -> ".join(str(name) for name in (error.filename, error.filename2) if name is not None)
    what = error.strerror or str(error)
    return f"{what}: {where}" if where else what


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    position = next((i for i, word in enumerate(argv) if not word.startswith("-")), None)
    if position is not None and argv[position] == "bench":
        # Every benchmark (and its options) is dmilib.bench's own; forward the rest as is.
        from .bench import main as bench_main

        return bench_main(argv[position + 1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "debug", False):
        return args.handler(args)
    prefix = f"dmilib {args.command}: error:"
    try:
        return args.handler(args)
    except StoreBusyError as error:
        parser.exit(3, f"{prefix} {_one_line(error)}\n")
    except ValueError as error:
        parser.exit(2, f"{prefix} {_one_line(error)}\n")
    except OSError as error:  # a file or folder that cannot be read or written
        parser.exit(2, f"{prefix} {_one_line(_os_error(error))} (--debug shows the traceback)\n")
    except MemoryError:
        parser.exit(2, f"{prefix} out of memory (--debug shows where); use smaller inputs\n")
    except KeyboardInterrupt:
        parser.exit(130, f"dmilib {args.command}: interrupted; rerun the same command to resume\n")


if __name__ == "__main__":
    sys.exit(main())
