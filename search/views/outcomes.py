"""What each trial came to, as a Plotly figure the dashboard shows on a study's first page.

Optuna has one PRUNED state for both kinds of early end, and the dashboard colours them alike:
this figure tells a budget rejection (never trained) from a stop by the fidelity pruner, each
trial by number against its parameter count, with the budget drawn as a line. It is a plain
Plotly JSON document (no plotly import): the dashboard's own Plotly draws it.
"""

from __future__ import annotations

from optuna.trial import FrozenTrial, TrialState

from search.trial import N_PARAMS, TrialOutcome, outcome, reason
from search.views.table import breakdown

__all__ = ["OUTCOMES", "legend_group", "outcomes_figure"]

RUNNING_OR_QUEUED = "running or queued"  # neither has a result to show
# legend group -> (marker colour, marker symbol), in the legend's order
OUTCOMES = {
    TrialOutcome.COMPLETE: ("#1f77b4", "circle"),
    TrialOutcome.PRUNED: ("#ff7f0e", "circle"),
    TrialOutcome.REJECTED: ("#d62728", "x"),
    TrialOutcome.FAILED: ("#7f7f7f", "square"),
    RUNNING_OR_QUEUED: ("#bcbd22", "circle-open"),
}


def legend_group(trial: FrozenTrial) -> str:
    """Which of OUTCOMES the trial is drawn as: its outcome, running and queued as one."""
    found = outcome(trial)
    return RUNNING_OR_QUEUED if found in (TrialOutcome.RUNNING, TrialOutcome.QUEUED) else found


def _hover(trial: FrozenTrial) -> str:
    value = f"val acc {trial.value:.4f}" if trial.state == TrialState.COMPLETE else ""
    said = " ".join(filter(None, [value, reason(trial)]))
    return f"trial {trial.number}: {legend_group(trial)}" + (f"<br>{said}" if said else "")


def outcomes_figure(trials: list[FrozenTrial], budget: int | None) -> dict:
    """Each trial's parameters (millions) by trial number, one trace per outcome (named with its
    count, and how many of those have no model to draw: queued, or failed before it had one),
    the budget as a dashed line, and `search status`'s breakdown as the title."""
    data = []
    for name, (colour, symbol) in OUTCOMES.items():
        every = [t for t in trials if legend_group(t) == name]
        these = [t for t in every if N_PARAMS in t.user_attrs]
        unsized = f", {len(every) - len(these)} without a model" * (len(these) < len(every))
        data.append({
            "type": "scatter",
            "mode": "markers",
            "name": f"{name} ({len(every)}{unsized})",
            "x": [t.number for t in these],
            "y": [t.user_attrs[N_PARAMS] / 1e6 for t in these],
            "text": [_hover(t) for t in these],
            "hovertemplate": "%{text}<br>%{y:.3f}M parameters<extra></extra>",
            "marker": {"color": colour, "symbol": symbol, "size": 9},
        })  # fmt: skip
    layout = {
        "title": {"text": f"Trials by outcome<br><sup>{breakdown(trials)}</sup>"},
        "xaxis": {"title": {"text": "trial"}},
        "yaxis": {"title": {"text": "parameters (millions)"}, "rangemode": "tozero"},
        "legend": {"orientation": "h", "y": -0.2},
        "margin": {"t": 80},
    }
    if budget is not None:
        layout["shapes"] = [{
            "type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": budget / 1e6,
            "y1": budget / 1e6, "line": {"dash": "dash", "color": "#d62728", "width": 1},
        }]  # fmt: skip
        layout["annotations"] = [{
            "xref": "paper", "x": 1, "y": budget / 1e6, "text": f"budget {budget / 1e6:.2f}M",
            "showarrow": False, "xanchor": "right", "yanchor": "bottom",
        }]  # fmt: skip
    return {"data": data, "layout": layout}
