"""Result tables: mean and spread over seeds per configuration, and their text form."""

from __future__ import annotations

import numpy as np

from .records import CONFIGURATION_COLUMNS

def summarize(rows: list[dict]) -> list[dict]:
    """Mean and standard deviation over seeds, per configuration and model.

    Parameters
    ----------
    rows : list of dict
        Rows of :data:`RESULT_COLUMNS` (from :func:`run_experiment` or ``results.csv``).

    Returns
    -------
    list of dict
        One dict per (configuration, model), in first-seen order: the
        :data:`CONFIGURATION_COLUMNS`, ``n_seeds``, ``n_train``, ``n_test``, and for each
        of ``train_mae``, ``train_error_std``, ``test_mae``, ``test_error_std``,
        ``mean_predictor_test_mae`` and ``wall_s`` its ``_mean`` and ``_std`` over seeds
        (sample standard deviation, ddof = 1; 0 for a single seed).
    """
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[c] for c in CONFIGURATION_COLUMNS), []).append(row)
    summary = []
    for key, members in groups.items():
        entry = dict(zip(CONFIGURATION_COLUMNS, key, strict=True))
        entry.update(n_seeds=len(members), n_train=members[0]["n_train"], n_test=members[0]["n_test"])
        for column in ("train_mae", "train_error_std", "test_mae", "test_error_std", "mean_predictor_test_mae",
                       "wall_s"):
            values = np.array([float(m[column]) for m in members])
            entry[f"{column}_mean"] = float(values.mean())
            entry[f"{column}_std"] = float(values.std(ddof=1)) if values.size > 1 else 0.0
        summary.append(entry)
    return summary


def format_summary(summary: list[dict]) -> str:
    """A text table: one line per configuration, CNN and ridge test MAE side by side (mJ/m^2)."""
    by_configuration: dict[tuple, dict] = {}
    for entry in summary:
        key = tuple(entry[c] for c in CONFIGURATION_COLUMNS if c != "model")
        by_configuration.setdefault(key, {})[entry["model"]] = entry
    header = (f"{'subset':>10} {'split':>15} {'comp':>7} {'pix':>3} {'sigma':>5} {'copies':>6} {'seeds':>5} "
              f"{'train/test':>10} {'CNN test MAE':>16} {'ridge test MAE':>16} {'mean-pred MAE':>13}")
    lines = [header]

    def cell(models: dict, model: str) -> str:
        entry = models.get(model)
        return "-" if entry is None else f"{entry['test_mae_mean']:.4f}±{entry['test_mae_std']:.4f}"

    for models in by_configuration.values():
        first = next(iter(models.values()))
        lines.append(f"{first['subset']:>10} {first['split']:>15} {str(first['component']):>7} "
                     f"{str(first['pixelation']):>3} {float(first['noise_sigma'] or 0):>5.2f} "
                     f"{str(first['noise_copies']):>6} {first['n_seeds']:>5} "
                     f"{str(first['n_train']) + '/' + str(first['n_test']):>10} {cell(models, 'cnn'):>16} "
                     f"{cell(models, 'ridge'):>16} {first['mean_predictor_test_mae_mean']:>13.4f}")
    return "\n".join(lines)
