"""`search report`: a study as trials.csv, PNG plots and one index.html that shows them."""

from __future__ import annotations

import html
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen

import matplotlib.pyplot as plt
import optuna
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from optuna.trial import FrozenTrial, TrialState

from errors import UserError
from search.trial import (
    CONFIG,
    DEVICE,
    FAIL_REASON,
    IMAGES_PER_S,
    N_PARAMS,
    PRUNED_REASON,
    VAL_LOSS,
    ZOO,
    is_budget_rejected,
    is_trained,
    reason,
)
from search.views.gain import Gain, gain
from trainers.outputs import output_dir
from trainers.plots import STYLE

__all__ = ["trials_frame", "write_report"]

BEST_CURVES = 5  # learning curves drawn in full
REPORT_FILES = ("trials.csv", "history.png", "params.png", "curves.png", "importances.png",
                "index.html")  # fmt: skip


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: Optuna's columns, the metrics, and the config flattened (config.*)."""
    frame = study.trials_dataframe(attrs=("number", "state", "value", "duration", "params"))
    frame = frame.rename(columns={"value": "val_accuracy", "value_val_accuracy": "val_accuracy"})
    frame["duration"] = frame["duration"].dt.total_seconds()
    trials = study.get_trials(deepcopy=False)
    for key in (N_PARAMS, PRUNED_REASON, FAIL_REASON, IMAGES_PER_S, VAL_LOSS, DEVICE):
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


def _pareto(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Trials no other beats with fewer parameters and higher accuracy, by size."""
    front, best = [], float("-inf")
    for n, acc in sorted(points, key=lambda p: (p[0], -p[1])):
        if acc > best:
            front.append((n, acc))
            best = acc
    return front


def _params_plot(study: optuna.Study) -> Figure:
    trials = study.get_trials(deepcopy=False)
    done = [(t.user_attrs[N_PARAMS], t.value) for t in trials if t.state == TrialState.COMPLETE]
    pruned = [
        (t.user_attrs[N_PARAMS], t.intermediate_values[max(t.intermediate_values)])
        for t in trials
        if t.state == TrialState.PRUNED and is_trained(t) and t.intermediate_values
    ]
    rejected = [t.user_attrs[N_PARAMS] for t in trials if is_budget_rejected(t)]
    budget = study.user_attrs.get("budget")
    fig, ax = plt.subplots(figsize=(8, 5))
    if pruned:
        ax.scatter(*zip(*[(n / 1e6, a) for n, a in pruned], strict=True), s=18, c="0.7",
                   label="pruned (last reported epoch)")  # fmt: skip
    if done:
        ax.scatter(*zip(*[(n / 1e6, a) for n, a in done], strict=True), s=28, c="tab:blue",
                   label="complete")  # fmt: skip
        front = _pareto(done)
        ax.step([n / 1e6 for n, _ in front], [a for _, a in front], where="post", c="tab:orange",
                lw=2, label="Pareto front (fewer params, higher accuracy)")  # fmt: skip
        ax.scatter([n / 1e6 for n, _ in front], [a for _, a in front], s=60, facecolors="none",
                   edgecolors="tab:orange", lw=2)  # fmt: skip
    gained = gain(trials)
    if gained:
        _mark_gain(ax, trials, gained)
    if budget:
        ax.axvline(budget / 1e6, c="tab:red", ls="--", label=f"budget {budget / 1e6:g}M")
    if rejected:
        ax.plot([n / 1e6 for n in rejected], [0] * len(rejected), "x", c="tab:red",
                transform=ax.get_xaxis_transform(), clip_on=False,
                label=f"over budget, not trained ({len(rejected)})")  # fmt: skip
        ax.set_xscale("log")
    ax.set_xlabel("trainable parameters (millions)")
    ax.set_ylabel("validation accuracy (fraction)")
    gained_by = f": {gained.points:+.1f} points over the best published design" if (
        gained and gained.points is not None) else ""  # fmt: skip
    ax.set_title(f"Validation accuracy against model size{gained_by}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="upper left")
    return fig


def _mark_gain(ax: plt.Axes, trials: list[FrozenTrial], gained: Gain) -> None:
    """The zoo's designs as named triangles; the best found and best published as stars."""
    zoo = [t for t in trials if ZOO in t.user_attrs and t.state == TrialState.COMPLETE]
    if zoo:
        sizes = [t.user_attrs[N_PARAMS] / 1e6 for t in zoo]
        ax.scatter(sizes, [t.value for t in zoo], marker="^", s=50, c="tab:green",
                   label="published designs (warm start)")  # fmt: skip
        for t in zoo:
            ax.annotate(t.user_attrs[ZOO], (t.user_attrs[N_PARAMS] / 1e6, t.value), fontsize=7,
                        xytext=(4, -8), textcoords="offset points")  # fmt: skip
    for trial, colour, what in ((gained.published, "tab:green", "best published"),
                                (gained.found, "tab:purple", "best found")):  # fmt: skip
        if trial is not None:
            ax.scatter([trial.user_attrs[N_PARAMS] / 1e6], [trial.value], marker="*", s=260,
                       c=colour, edgecolors="k", zorder=5,
                       label=f"{what}: {trial.value:.3f}")  # fmt: skip


def _curves_plot(study: optuna.Study) -> Figure:
    trials = [t for t in study.get_trials(deepcopy=False) if t.intermediate_values]
    best = sorted(
        (t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: t.value, reverse=True
    )[:BEST_CURVES]
    fig, ax = plt.subplots(figsize=(8, 5))
    for t in trials:
        if t not in best:
            steps = sorted(t.intermediate_values)
            ax.plot(steps, [t.intermediate_values[s] for s in steps], c="0.8", lw=1)
    for t in best:
        steps = sorted(t.intermediate_values)
        ax.plot(steps, [t.intermediate_values[s] for s in steps], marker="o", lw=2,
                label=f"trial {t.number}: {t.value:.4f}")  # fmt: skip
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (fraction)")
    ax.set_title(f"Learning curves: the best {len(best)} in colour, the others grey")
    ax.grid(alpha=0.3)
    if best:
        ax.legend(fontsize=9)
    return fig


def _optuna_plot(plot: str, study: optuna.Study) -> Figure:
    """One of Optuna's own matplotlib plots, labelled in our terms."""
    with warnings.catch_warnings():  # experimental API; importances warn of sparse regimes
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", UserWarning)
        function = getattr(optuna.visualization.matplotlib, plot)
        ax = function(study, target_name="validation accuracy")
    if plot == "plot_optimization_history":
        ax.set_title("Validation accuracy of completed trials, and the best so far")
        ax.set_xlabel("trial number")
        ax.set_ylabel("validation accuracy (fraction)")
    return ax.figure


def _summary(study: optuna.Study, trials: list[FrozenTrial]) -> str:
    counts = {
        "trained to the end": sum(t.state == TrialState.COMPLETE for t in trials),
        "pruned by the pruner": sum(t.state == TrialState.PRUNED and is_trained(t) for t in trials),
        "over budget, not trained": sum(is_budget_rejected(t) for t in trials),
        "failed": sum(t.state == TrialState.FAIL for t in trials),
    }
    rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in counts.items())
    try:
        best = study.best_trial
        rows += (
            f"<tr><td>best</td><td>trial {best.number}: val accuracy {best.value:.4f}, "
            f"{best.user_attrs[N_PARAMS]:,} parameters</td></tr>"
        )
    except ValueError:
        pass
    gained = gain(trials)
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
        "history.png": ("Validation accuracy by trial", lambda: _optuna_plot(
            "plot_optimization_history", study)),
        "params.png": ("Accuracy against parameters", lambda: _params_plot(study)),
        "curves.png": ("Learning curves", lambda: _curves_plot(study)),
    }  # fmt: skip
    if sum(t.state == TrialState.COMPLETE for t in trials) >= 2:  # importances need a few
        plots["importances.png"] = ("Parameter importances", lambda: _optuna_plot(
            "plot_param_importances", study))  # fmt: skip
    figures = []
    with plt.rc_context(STYLE):
        for name, (title, draw) in plots.items():
            fig = draw()
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
