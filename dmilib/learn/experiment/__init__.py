"""One experiment of the study: a dataset, a subset, a split, a degradation, many seeds.

:func:`run_experiment` trains the paper's CNN once per seed (default 10 seeds, 30 epochs,
batch 32, Adam 1e-3) and, on exactly the same split and images, the ridge baseline on the
bubble's shape features; it writes ``results.csv``, ``run.json`` and ``seed_XX.keras`` into
the output folder (layout in :mod:`dmilib.learn.artifacts`).

Data flow, with no test information reaching training:

1. the valid samples of every dataset, restricted to the subset (uniform films, Voronoi
   films, or both) are pooled;
2. the split is made on those samples (before any augmentation);
3. test images are degraded once, with ``training=False`` and a fixed test-noise seed, so
   every model is scored on the same images; training images are degraded with
   ``training=True`` (``noise_copies`` noisy copies each) and a noise seed derived from the
   model's seed;
4. the CNN's per-channel normalization is computed on the training images;
5. metrics are in mJ/m^2: MAE and standard deviation of the error (prediction - truth) on
   the training images (noise copies included) and on the test images, and the test MAE of
   predicting the training-label mean.

Resuming: the run is keyed by a hash of everything that changes the results except the
seed list; rerunning with the same configuration skips every seed whose model file and
metrics are already recorded; a folder holding another configuration is refused.

=================  ========================================================================
module             holds
=================  ========================================================================
``config``         :class:`ExperimentConfig`
``pool``           the pooled samples of the stores, degraded images, derived seeds
``run``            :func:`run_experiment` (training, scoring, ``run.json`` contents);
                   :func:`experiment_split` (which runs train, calibrate, test)
``records``        ``results.csv`` / ``run.json`` writers, :func:`read_results`
``tables``         :func:`summarize`, :func:`format_summary`
=================  ========================================================================
"""

from .config import ExperimentConfig
from .pool import DEGRADE_CHUNK
from .records import CONFIGURATION_COLUMNS, MODELS, RESULT_COLUMNS, read_results
from .run import ExperimentSplit, experiment_split, interior_split_seed, run_experiment
from .tables import format_summary, summarize

__all__ = ["CONFIGURATION_COLUMNS", "DEGRADE_CHUNK", "MODELS", "RESULT_COLUMNS", "ExperimentConfig", "ExperimentSplit",
           "experiment_split", "format_summary", "interior_split_seed", "read_results", "run_experiment", "summarize"]
