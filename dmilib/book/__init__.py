"""The book's library side: datasets for the chapters, the run profiles, batch runs.

=================  =========================================================================
module             holds
=================  =========================================================================
``datasets``       :func:`ensure_dataset`, :func:`generate_command`, :data:`REPOSITORY_ROOT`
``profiles``       :func:`profile_settings`, :func:`notebook_parameters` (``book/profiles``)
``runner``         :func:`record`, :func:`run_notebooks` (papermill), ``python -m dmilib.book``
``chapters``       :func:`chapter_data` (store and results folder), :func:`markdown_table`, :func:`recorded`,
                   :func:`study_record` (a profile's committed results)
``inference``      :func:`flag_examples` (images that ``predict`` flags or refuses)
``verdicts``       the paper's claims decided on the study records (imported on use: it loads Keras)
=================  =========================================================================
"""

from .chapters import (RECORDS_FOLDER, ChapterData, chapter_data, markdown_table, recorded, pixelation_seeds,
                       study_record)
from .datasets import (REPOSITORY_ROOT, default_dataset_path, display_path, ensure_dataset, from_root,
                       generate_command)
from .inference import FLAG_EXAMPLES, flag_examples
from .profiles import PROFILE_FOLDER, notebook_parameters, profile_names, profile_settings
from .runner import RECORD_ENVIRONMENT_VARIABLE, notebook_sources, prepare_notebook, record, run_notebooks

__all__ = ["FLAG_EXAMPLES", "PROFILE_FOLDER", "RECORDS_FOLDER", "RECORD_ENVIRONMENT_VARIABLE", "REPOSITORY_ROOT",
           "ChapterData", "pixelation_seeds", "recorded", "study_record",
           "chapter_data", "default_dataset_path", "display_path", "ensure_dataset", "flag_examples", "from_root", "generate_command",
           "markdown_table", "notebook_parameters", "notebook_sources", "prepare_notebook", "profile_names",
           "profile_settings", "record", "run_notebooks"]
