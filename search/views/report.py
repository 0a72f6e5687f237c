"""`search report`: a study as trials.csv, PNG plots and one index.html that shows them."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen

import matplotlib.pyplot as plt
import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from errors import UserError
from search.trial import (
    CONFIG,
    DESIGN,
    DEVICE,
    FAIL_REASON,
    IMAGES_PER_S,
    N_PARAMS,
    PRECISION,
    PRUNED_REASON,
    VAL_LOSS,
    WALL_S,
    reason,
)
from search.views.gain import gain, val_size_of
from search.views.study_plots import curves_plot, history_plot, importances_plot, params_plot
from search.views.table import breakdown
from trainers.outputs import output_dir
from trainers.plots import STYLE

__all__ = ["trials_frame", "write_report"]

REPORT_FILES = ("trials.csv", "history.png", "params.png", "curves.png", "importances.png",
                "index.html")  # fmt: skip


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: Optuna's columns, the published design's name (zoo), the metrics, and
    the config flattened (config.*)."""
    frame = study.trials_dataframe(attrs=("number", "state", "value", "duration", "params"))
    frame = frame.rename(columns={"value": "val_accuracy", "value_val_accuracy": "val_accuracy"})
    frame["duration"] = pd.to_timedelta(frame["duration"]).dt.total_seconds()  # None: running
    trials = study.get_trials(deepcopy=False)
    for key in (DESIGN, N_PARAMS, PRUNED_REASON, FAIL_REASON, IMAGES_PER_S, VAL_LOSS, WALL_S,
                DEVICE, PRECISION):  # fmt: skip
        frame[key] = [t.user_attrs.get(key) for t in trials]
    frame["reason"] = [reason(t) for t in trials]  # as `search status` and the run say it
    frame["epochs_reported"] = [len(t.intermediate_values) for t in trials]
    # Optuna gives a pruned trial its last epoch's accuracy as its value: that is no final score
    frame["val_accuracy"] = [t.value if t.state == TrialState.COMPLETE else None for t in trials]
    frame["last_reported_val_accuracy"] = [
        t.intermediate_values[t.last_step] if t.last_step is not None else None for t in trials
    ]
    configs = pd.json_normalize([t.user_attrs.get(CONFIG, {}) for t in trials], sep=".")
    configs = configs.map(lambda v: " ".join(map(str, v)) if isinstance(v, list) else v)
    return pd.concat([frame, configs.add_prefix("config.")], axis=1)


def _summary(study: optuna.Study, trials: list[FrozenTrial]) -> str:
    rows = f"<tr><td>trials</td><td>{html.escape(breakdown(trials))}</td></tr>"
    try:
        best = study.best_trial
        rows += (
            f"<tr><td>best</td><td>trial {best.number}: val accuracy {best.value:.4f}, "
            f"{best.user_attrs[N_PARAMS]:,} parameters</td></tr>"
        )
    except ValueError:
        pass
    gained = gain(trials, val_size_of(study))
    if gained:
        rows += f"<tr><td>gain</td><td>{html.escape(gained.line())}</td></tr>"
    return f"<table>{rows}</table>"


def write_report(study: optuna.Study, out: Path) -> list[Path]:
    """Write trials.csv, the plots and index.html into `out`; return the files written."""
    trials = study.get_trials(deepcopy=False)
    if not trials:
        raise UserError(f"study {study.study_name!r} has no trials yet; nothing to report")
    output_dir(out, REPORT_FILES, "--out")
    written = [out / "trials.csv"]
    trials_frame(study).to_csv(written[0], index=False)
    plots = {
        "history.png": ("Validation accuracy by trial", history_plot),
        "params.png": ("Accuracy against parameters", params_plot),
        "curves.png": ("Learning curves", curves_plot),
    }
    if sum(t.state == TrialState.COMPLETE for t in trials) >= 2:  # importances need a few
        plots["importances.png"] = ("Parameter importances", importances_plot)
    else:  # none from an earlier report (another study's, say) left to be taken for this one's
        (out / "importances.png").unlink(missing_ok=True)
    figures = []
    for name, (title, draw) in plots.items():
        # each in matplotlib's default style: Optuna's plots switch to ggplot for good
        with plt.style.context("default"), plt.rc_context(STYLE):
            fig = draw(study)
            fig.savefig(out / name, bbox_inches="tight")
            plt.close(fig)
            written.append(out / name)
            figures.append(f'<h2>{html.escape(title)}</h2><img src="{name}" alt="{title}">')
    name = html.escape(study.study_name)
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Study {name}</title>"
        "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto}"
        "img{max-width:100%}td{padding:2px 12px}</style></head><body>"
        f"<h1>Study {name}</h1>{_summary(study, trials)}"
        f"<p><a href='trials.csv'>trials.csv</a>: one row per trial, config in columns.</p>"
        f"{''.join(figures)}</body></html>\n"
    )
    written.append(out / "index.html")
    written[-1].write_text(page)
    return written
