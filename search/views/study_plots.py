"""The figures of `search report`: a study's accuracy by trial, against model size, its learning
curves and its parameter importances, each saying what it shows and what it leaves out.

A pruned trial's accuracy is its last reported epoch's, never a final score: it is drawn grey
and labelled so. A trial rejected for the budget has no accuracy: it is a red x on the bottom
strip. Legends sit below the axes, where they cover no point.
"""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")  # files only, no screen

import matplotlib.pyplot as plt
import optuna
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from optuna.trial import FrozenTrial, TrialState

from search.study import BUDGET
from search.trial import DESIGN, N_PARAMS, TrialOutcome, is_budget_rejected, outcome
from search.views.gain import Gain, gain
from search.views.table import breakdown

__all__ = ["curves_plot", "history_plot", "importances_plot", "params_plot"]

BEST_CURVES = 5  # learning curves drawn in colour
COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown")  # no grey
RELIABLE_IMPORTANCES = 20  # completed trials below which importances are noise (a rule of thumb)
PRUNED = {"c": "0.6", "s": 18, "label": "pruned by the pruner (last reported epoch)"}


def _pruned(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    """Trials the pruner stopped after at least one epoch."""
    return [t for t in trials if outcome(t) == TrialOutcome.PRUNED and t.intermediate_values]


def _last(trial: FrozenTrial) -> float:
    return trial.intermediate_values[trial.last_step]


def _complete(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    return [t for t in trials if t.state == TrialState.COMPLETE]


def _figure() -> tuple[Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.grid(alpha=0.3)
    return fig, ax


def _legend(ax: plt.Axes) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)


def _rejected(ax: plt.Axes, xs: list[float]) -> None:
    """Trials rejected for the budget as red x's on a strip inside the bottom of the axes."""
    if xs:
        ax.plot(xs, [0.04] * len(xs), "x", c="tab:red", transform=ax.get_xaxis_transform(),
                label=f"over budget, not trained ({len(xs)}; no accuracy)")  # fmt: skip


def _pareto(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Trials no other beats with fewer parameters and higher accuracy, by size."""
    front, best = [], float("-inf")
    for n, acc in sorted(points, key=lambda p: (p[0], -p[1])):
        if acc > best:
            front.append((n, acc))
            best = acc
    return front


def history_plot(study: optuna.Study) -> Figure:
    """Accuracy by trial number, completed and pruned, with the best completed so far."""
    trials = study.get_trials(deepcopy=False)
    done, pruned = _complete(trials), _pruned(trials)
    fig, ax = _figure()
    if pruned:
        ax.scatter([t.number for t in pruned], [_last(t) for t in pruned], **PRUNED)
    if done:
        ax.scatter([t.number for t in done], [t.value for t in done], s=28, c="tab:blue",
                   label="complete", zorder=3)  # fmt: skip
        best, so_far = [], float("-inf")
        for t in done:
            so_far = max(so_far, t.value)
            best.append(so_far)
        last = trials[-1].number  # the line runs on to the last trial
        ax.step([t.number for t in done] + [last], [*best, so_far], where="post", c="tab:red",
                lw=1.5, label="best complete so far")  # fmt: skip
    _rejected(ax, [t.number for t in trials if is_budget_rejected(t)])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlim(-0.5, max(t.number for t in trials) + 0.5)
    ax.set_xlabel("trial number")
    ax.set_ylabel("validation accuracy (fraction)")
    ax.set_title(f"Validation accuracy by trial\n{breakdown(trials)}", fontsize=11)
    _legend(ax)
    return fig


def params_plot(study: optuna.Study) -> Figure:
    """Accuracy against parameters, the budget, the Pareto front and the gain's two trials."""
    trials = study.get_trials(deepcopy=False)
    done, pruned = _complete(trials), _pruned(trials)
    rejected = [t.user_attrs[N_PARAMS] / 1e6 for t in trials if is_budget_rejected(t)]
    fig, ax = _figure()
    if pruned:
        ax.scatter([t.user_attrs[N_PARAMS] / 1e6 for t in pruned], [_last(t) for t in pruned],
                   **PRUNED)  # fmt: skip
    points = [(t.user_attrs[N_PARAMS], t.value) for t in done]
    if points:
        ax.scatter(*zip(*[(n / 1e6, a) for n, a in points], strict=True), s=28, c="tab:blue",
                   label="complete", zorder=3)  # fmt: skip
    front = _pareto(points)
    if len(front) > 1:  # one point is no front
        ax.step([n / 1e6 for n, _ in front], [a for _, a in front], where="post", c="tab:orange",
                lw=2, label="Pareto front (fewer parameters, higher accuracy)")  # fmt: skip
    gained = gain(trials)
    if gained:
        _mark_gain(ax, trials, gained)
    budget = study.user_attrs.get(BUDGET)
    if budget:
        ax.axvline(budget / 1e6, c="tab:red", ls="--", label=f"budget {budget / 1e6:g}M")
    _rejected(ax, rejected)
    if rejected:
        ax.set_xscale("log")  # rejected models can be far larger than the budget
    ax.set_xlabel("trainable parameters (millions)")
    ax.set_ylabel("validation accuracy (fraction)")
    gained_by = f": {gained.points:+.1f} points over the best published design" if (
        gained and gained.points is not None) else ""  # fmt: skip
    ax.set_title(f"Validation accuracy against model size{gained_by}")
    _legend(ax)
    return fig


def _mark_gain(ax: plt.Axes, trials: list[FrozenTrial], gained: Gain) -> None:
    """The zoo's designs as named triangles; the best found and best published as stars."""
    zoo = [t for t in _complete(trials) if DESIGN in t.user_attrs]
    if zoo:
        sizes = [t.user_attrs[N_PARAMS] / 1e6 for t in zoo]
        ax.scatter(sizes, [t.value for t in zoo], marker="^", s=50, c="tab:green", zorder=4,
                   label="published designs (warm start)")  # fmt: skip
        for t in zoo:
            ax.annotate(t.user_attrs[DESIGN], (t.user_attrs[N_PARAMS] / 1e6, t.value), fontsize=7,
                        xytext=(4, -8), textcoords="offset points")  # fmt: skip
    for trial, colour, what in ((gained.published, "tab:green", "best published"),
                                (gained.found, "tab:purple", "best found")):  # fmt: skip
        if trial is not None:
            ax.scatter([trial.user_attrs[N_PARAMS] / 1e6], [trial.value], marker="*", s=260,
                       c=colour, edgecolors="k", zorder=5,
                       label=f"{what}: {trial.value:.3f} (trial {trial.number})")  # fmt: skip


OTHERS = {  # the grey curves' legend by state; PRUNED: pruned by the pruner
    TrialState.COMPLETE: "other complete trials",
    TrialState.FAIL: "failed (diverged, interrupted, ...)",
    TrialState.RUNNING: "running",
}


def curves_plot(study: optuna.Study) -> Figure:
    """Validation accuracy per epoch: the best complete trials in colour, the rest grey, a
    pruned trial's curve ending in an x where the pruner stopped it."""
    trials = [t for t in study.get_trials(deepcopy=False) if t.intermediate_values]
    best = sorted(_complete(trials), key=lambda t: t.value, reverse=True)[:BEST_CURVES]
    fig, ax = _figure()
    labelled = set()
    for t in trials:
        if t in best:
            continue
        steps = sorted(t.intermediate_values)
        stopped = t.state == TrialState.PRUNED
        label = OTHERS.get(t.state, "pruned by the pruner (x: where)")
        ax.plot(steps, [t.intermediate_values[s] for s in steps], c="0.7", lw=1,
                marker="x" if stopped else "o", ms=6 if stopped else 4, markevery=[-1],
                label=None if label in labelled else label)  # fmt: skip
        labelled.add(label)
    for t, colour in zip(best, COLOURS, strict=False):
        steps = sorted(t.intermediate_values)
        ax.plot(steps, [t.intermediate_values[s] for s in steps], marker="o", lw=2, c=colour,
                label=f"trial {t.number}: {t.value:.4f}", zorder=3)  # fmt: skip
    epochs = max((max(t.intermediate_values) for t in trials), default=1)
    ax.set_xlim(0.5, epochs + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (fraction)")
    ax.set_title(f"Learning curves: the best {len(best)} complete in colour, the others grey")
    _legend(ax)
    return fig


def importances_plot(study: optuna.Study) -> Figure:
    """Optuna's parameter importances, saying how many completed trials they rest on."""
    completed = len(_complete(study.get_trials(deepcopy=False)))
    with warnings.catch_warnings():  # experimental API; importances warn of sparse regimes
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", UserWarning)
        ax = optuna.visualization.matplotlib.plot_param_importances(
            study, target_name="validation accuracy"
        )
    rough = f": rough below {RELIABLE_IMPORTANCES}" if completed < RELIABLE_IMPORTANCES else ""
    ax.set_title("", loc="left")  # Optuna's own title, replaced by one that says how sure
    ax.set_title(f"Parameter importances, from {completed} completed trials{rough}")
    ax.figure.set_size_inches(8, 1.5 + 0.25 * len(ax.get_yticks()))  # a readable row each
    return ax.figure
