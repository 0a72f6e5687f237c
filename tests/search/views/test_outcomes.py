"""The dashboard's trials-by-outcome figure, drawn from a real study: a budget rejection and a
stop by the pruner, both PRUNED to Optuna, are different traces."""

from optuna.trial import TrialState

from search.views.outcomes import OUTCOMES, legend_group, outcomes_figure
from search.views.table import breakdown
from tests.search.views.test_table import faulty_study


def test_each_outcome_is_a_trace_and_rejections_lie_above_the_budget(tmp_path, fake_cifar):
    # the faulty space's study (see faulty_study); then one the pruner stopped and one still
    # running, recorded as a driver records them
    study, _, budget = faulty_study(tmp_path, fake_cifar, trials=3)
    (done,) = [t for t in study.trials if t.state == TrialState.COMPLETE][:1]
    for state in (TrialState.PRUNED, TrialState.RUNNING):
        trial = study.ask()
        trial.set_user_attr("n_params", done.user_attrs["n_params"])
        if state == TrialState.PRUNED:
            trial.set_user_attr("pruned_reason", "pruner: validation accuracy 0.1 after epoch 1")
            study.tell(trial, state=state)
    study.enqueue_trial({})  # queued: no model until it is sampled
    trials = study.get_trials()

    figure = outcomes_figure(trials, budget)

    traces = {trace["name"].rsplit(" (", 1)[0]: trace for trace in figure["data"]}
    assert list(traces) == list(OUTCOMES)
    for name, trace in traces.items():  # a failed and the queued trial have no model to draw
        every = [t for t in trials if legend_group(t) == name]
        these = [t for t in every if "n_params" in t.user_attrs]
        without = f", {len(every) - len(these)} without a model" * (len(these) < len(every))
        assert trace["name"] == f"{name} ({len(every)}{without})"
        assert trace["x"] == [t.number for t in these]
    assert traces["running or queued"]["name"] == "running or queued (2, 1 without a model)"
    assert len(traces["rejected for the budget"]["x"]) > 0
    assert traces["pruned by the pruner"]["x"] == [trials[-3].number]
    assert traces["running or queued"]["x"] == [trials[-2].number]
    assert all(y > budget / 1e6 for y in traces["rejected for the budget"]["y"])
    assert all(y <= budget / 1e6 for y in traces["complete"]["y"])
    assert "pruner: validation accuracy" in traces["pruned by the pruner"]["text"][0]
    assert "budget:" in traces["rejected for the budget"]["text"][0]
    (line,) = figure["layout"]["shapes"]
    assert line["y0"] == line["y1"] == budget / 1e6
    assert breakdown(trials) in figure["layout"]["title"]["text"]
