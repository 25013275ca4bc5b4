"""Figures of dmilib, built without pyplot (colour map ``RdBu_r`` on ``[-1, 1]``, axes in nm).

=====================  ====================================================================
module                 holds
=====================  ====================================================================
``maps``               component maps, ``m_z`` with arrows, pixelation and noise schematics
``dataset_figures``    the paper's Fig. 2 and the dataset statistics, from a store
``reliability``        coverage of calibrated intervals; the images ``predict`` flags
``verdicts``           the tested comparisons behind each verdict on the paper's claims
=====================  ====================================================================

Only this package imports matplotlib; the numbers behind the figures live in the
library (e.g. :mod:`dmilib.dataset.figures`).
"""

from .dataset_figures import (GRAIN_BOUNDARY_GID, ZOOM_GID, plot_component_statistics, plot_dataset_snapshots,
                              plot_dataset_statistics, plot_disorder_sample, plot_figure2)
from .maps import (COLORMAP, COMPONENT_TITLES, plot_components, plot_mz_with_arrows, plot_noise_schematic,
                   plot_pixelation_schematic)
from .reliability import plot_flag_examples, plot_reliability
from .verdicts import plot_verdicts

__all__ = ["COLORMAP", "COMPONENT_TITLES", "GRAIN_BOUNDARY_GID", "ZOOM_GID", "plot_component_statistics",
           "plot_components",
           "plot_dataset_snapshots", "plot_dataset_statistics", "plot_disorder_sample", "plot_figure2",
           "plot_flag_examples", "plot_mz_with_arrows", "plot_noise_schematic", "plot_pixelation_schematic",
           "plot_reliability", "plot_verdicts"]
