"""The study's compact CNN, its experiments and a shape-feature ridge baseline.

Pipeline position: simulate -> dataset -> degrade -> **learn** -> infer.

=================  ==========================================================================
module             holds
=================  ==========================================================================
``model``          :func:`build_cnn` (the paper's network), label unit (mJ/m^2)
``splits``         random, grouped-by-run and the paper's D-interval splits; subsets
``baseline``       closed-form ridge regression on bubble shape features
``experiment``     :class:`ExperimentConfig`, :func:`run_experiment`, :func:`summarize`
``artifacts``      :func:`load_run` (the stable API ``dmilib predict`` uses)
``report``         experiment grids, summary tables and MAE bar charts for the book
=================  ==========================================================================

Keras is imported only by the modules that need it (``model``, ``experiment`` when run,
``artifacts.load_run``), so the splits and the baseline work without it.
"""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) drowns notebook output; a user
# who sets the variable keeps their own level.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .baseline import RidgeModel, fit_ridge  # noqa: E402
from .splits import (  # noqa: E402
    SPLIT_NAMES,
    SUBSET_NAMES,
    Split,
    grouped_split,
    interval_split,
    make_split,
    random_split,
)

_LAZY = {
    "build_cnn": "model", "normalization_statistics": "model", "parameter_count": "model", "LABEL_SCALE": "model",
    "ExperimentConfig": "experiment", "run_experiment": "experiment", "summarize": "experiment",
    "format_summary": "experiment", "read_results": "experiment",
    "LoadedRun": "artifacts", "load_run": "artifacts",
}

__all__ = ["RidgeModel", "fit_ridge", "SPLIT_NAMES", "SUBSET_NAMES", "Split", "grouped_split", "interval_split",
           "make_split", "random_split", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
