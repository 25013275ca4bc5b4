"""Generate a dataset: runs become tasks, on Dask distributed or in-process, resumable.

``generate(config, out)`` is what ``dmilib generate`` calls. Each task runs the bubble
protocol for ``config.runs_per_task`` runs as one batch (raise it on a GPU to fill it),
retries a failed run once in the gentle mode, and writes its samples straight into the
store; runs already done are never recomputed, so rerunning the same command after an
interruption (Ctrl-C, kill -9, a lost worker) finishes only what is missing.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..backend import cupy_available
from .config import DatasetConfig, config_from_dict
from .protocol import run_protocol
from .store import (PENDING, Dataset, check_replaceable, create_or_open, damaged_runs, is_dmilib_store, pending_runs,
                    remove_scratch, swap_in, write_run, writer_lock)

SCHEDULER_HELP = (
    "'local' (a Dask LocalCluster sized to this machine, the default), 'synchronous' (in this "
    "process, no Dask), or the address of an existing Dask scheduler such as tcp://host:8786"
)
_SCHEDULER_PROTOCOLS = ("tcp://", "tls://", "inproc://", "ucx://")


def _check_scheduler(scheduler) -> None:
    if not isinstance(scheduler, str) or not (scheduler in ("local", "synchronous")
                                              or scheduler.startswith(_SCHEDULER_PROTOCOLS)):
        raise ValueError(f"scheduler must be {SCHEDULER_HELP}; got {scheduler!r}")


def _connect(scheduler: str):
    """A Client of the remote scheduler, connected before any store is made."""
    from dask.distributed import Client

    try:
        return Client(scheduler)
    except (OSError, TimeoutError) as error:
        raise ValueError(f"scheduler: cannot reach the Dask scheduler at {scheduler} ({error}); nothing was "
                         "written") from error


def run_task(store_path: str, config_dict: dict, run_ids: list[int], backend: str = "auto",
             fft_workers: int | None = None) -> list[dict]:
    """One task: run the protocol for ``run_ids``, retry failures once, write to the store.

    Runs on a Dask worker (or in-process). Returns one small record per run for progress.
    """
    config = config_from_dict(config_dict)
    outcomes = run_protocol(config, run_ids, backend=backend, fft_workers=fft_workers)
    failed = [o.run for o in outcomes if not o.ok]
    if failed:
        retried = {o.run: o for o in run_protocol(config, failed, backend=backend, fft_workers=fft_workers,
                                                  gentle=True)}
        outcomes = [retried.get(o.run, o) for o in outcomes]
        for outcome in outcomes:
            if not outcome.ok and outcome.run in retried:
                outcome.reason = f"{outcome.reason} (after a retry with half the Hz step)"
    records = []
    for outcome in outcomes:
        write_run(store_path, outcome, config.snapshots_per_run)
        records.append({"run": outcome.run, "ok": outcome.ok, "reason": outcome.reason,
                        "seconds": outcome.seconds, "iterations": outcome.iterations})
    return records


def _tasks(runs: list[int], runs_per_task: int) -> list[list[int]]:
    return [runs[i : i + runs_per_task] for i in range(0, len(runs), runs_per_task)]


def generate(config: DatasetConfig, out, *, scheduler: str = "local", workers: int | None = None,
             overwrite: bool = False, retry_failed: bool = False, backend: str = "auto",
             progress: bool = True) -> dict:
    """Generate (or finish) the dataset ``config`` into the Zarr store ``out``.

    Parameters
    ----------
    config : DatasetConfig
        Validated before any work starts (ValueError for non-physical parameters).
    out : path
        The store. An existing store with other parameters raises ValueError unless
        ``overwrite``; one with the same parameters is resumed, after every finished run
        is checked against its digest (damaged runs are recomputed, listed under
        ``repaired_runs``). With ``overwrite`` the new store is built as ``<out>.new`` and
        replaces the old one only once every run is finished (rerun the same command to
        resume it); only a dmilib store is ever replaced. One writer at a time: a second
        process gets :class:`~dmilib.dataset.store.StoreBusyError` (a ValueError).
    scheduler : str
        See ``SCHEDULER_HELP``. Workers of a remote cluster must see ``out`` on a shared
        file system: they write their samples into it directly.
    workers : int, optional
        Local cluster size (default: one per GPU with CuPy, else one per CPU core).
    retry_failed : bool
        Also rerun the runs a previous generation recorded as failed.

    Returns
    -------
    dict
        The dataset summary plus ``wall_s`` and ``runs_attempted``.
    """
    config.validate()
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    _check_scheduler(scheduler)
    out = Path(out)
    check_replaceable(out)
    with writer_lock(out, "the dataset store"):
        target = out
        if overwrite and out.exists():
            target = out.with_name(out.name + ".new")
            if target.exists() and not (is_dmilib_store(target) and _same_parameters(target, config)):
                remove_scratch(target)
        client = _connect(scheduler) if scheduler.startswith(_SCHEDULER_PROTOCOLS) else None
        try:
            summary = _generate_locked(config, target, scheduler, workers, retry_failed, backend, progress, client)
        finally:
            if client is not None:
                client.close()
        if target != out and summary["runs_pending"] == 0:
            swap_in(target, out)
    return summary


def _same_parameters(path: Path, config: DatasetConfig) -> bool:
    import zarr

    stored = zarr.open_group(str(path), mode="r").attrs.get("config")
    return stored is not None and config_from_dict(dict(stored)).parameters_hash() == config.parameters_hash()


def _generate_locked(config, out, scheduler, workers, retry_failed, backend, progress, client) -> dict:
    group = create_or_open(out, config)
    repaired = damaged_runs(group)
    for run, reason in repaired.items():
        if progress:
            print(f"run {run} of {out} is damaged ({reason}); recomputing it", file=sys.stderr)
        group["run_status"][run] = PENDING
    todo = pending_runs(group, retry_failed=retry_failed)
    tasks = _tasks(todo, config.runs_per_task)
    start = time.perf_counter()
    images = 0
    bar = tqdm(total=len(todo), unit="run", desc=f"generate {config.preset}", disable=not progress)

    def record(results):
        nonlocal images
        for result in results:
            images += config.snapshots_per_run if result["ok"] else 0
            bar.update(1)
        bar.set_postfix(images=images, failed=bar.n - images // max(config.snapshots_per_run, 1))

    if tasks and scheduler == "synchronous":
        for task in tasks:
            record(run_task(str(out), config.to_dict(), task, backend))
    elif tasks:
        _run_on_dask(tasks, out, config, scheduler, workers, backend, record, client)
    bar.close()
    wall = time.perf_counter() - start
    dataset = Dataset(out)
    summary = dataset.summary()
    summary.update({"wall_s": wall, "runs_attempted": len(todo), "repaired_runs": repaired})
    seconds = dataset.array("run_seconds")
    timing = {"last_wall_s": wall, "last_runs_attempted": len(todo), "scheduler": scheduler,
              "workers": workers, "cpu_count": os.cpu_count(), "backend": backend,
              "mean_run_s": float(np.nanmean(seconds)) if np.isfinite(seconds).any() else None}
    # The client is the only writer of group attributes (atomic file replace in Zarr).
    import zarr

    zarr.open_group(str(out), mode="r+").attrs.update({"timing": timing})
    return summary


def _run_on_dask(tasks, out, config, scheduler, workers, backend, record, client=None) -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    fft_workers = None
    own_client = client is None
    if scheduler == "local":
        use_gpu = backend == "cupy" or (backend == "auto" and cupy_available())
        if use_gpu:
            import cupy

            count = workers or cupy.cuda.runtime.getDeviceCount()
        else:
            count = workers or os.cpu_count() or 1
            fft_workers = 1  # one FFT thread per single-threaded worker process
        cluster = LocalCluster(n_workers=count, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
        own_client = True
    elif own_client:
        _check_scheduler(scheduler)
        client = _connect(scheduler)
    try:
        futures = [client.submit(run_task, str(out), config.to_dict(), task, backend, fft_workers, pure=False)
                   for task in tasks]
        for future in as_completed(futures):
            record(future.result())
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()
