"""The report's figures, drawn from real studies and checked as a reader sees them: what is in
the legend is drawn, the legend covers no point, nothing is cut at an edge, each figure says
what it leaves out."""

import io
from contextlib import redirect_stderr

import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_rgb
from optuna.trial import TrialState

from search import RunOptions, is_budget_rejected, is_trained, run_search
from search.views.study_plots import curves_plot, history_plot, importances_plot, params_plot
from search.views.table import breakdown
from tests.search.standins import standin_train


def make_study(where, data, trials, epochs):
    options = RunOptions(study="p", trials=trials, budget=600_000, epochs=epochs,
                         storage=f"sqlite:///{where}/s.db", train_subset=1000, seed=0,
                         data_dir=data)  # fmt: skip
    with redirect_stderr(io.StringIO()):
        return run_search(options, standin_train)


@pytest.fixture(scope="module")
def study(tmp_path_factory, fake_cifar):
    """Warm start, sampled trials, pruner stops and budget rejections: what the plots tell apart."""
    study = make_study(tmp_path_factory.mktemp("plots"), fake_cifar, trials=16, epochs=3)
    states = [t.state for t in study.trials]
    assert TrialState.COMPLETE in states and any(is_budget_rejected(t) for t in study.trials)
    assert any(t.state == TrialState.PRUNED and is_trained(t) for t in study.trials)
    return study


@pytest.fixture(scope="module")
def single(tmp_path_factory, fake_cifar):
    """One trial of one epoch: the smallest report there is."""
    return make_study(tmp_path_factory.mktemp("single"), fake_cifar, trials=1, epochs=1)


def labels(ax):
    return ax.get_legend_handles_labels()[1]


def drawn(fig):
    fig.canvas.draw()
    return fig.axes[0]


def test_the_legend_sits_below_the_axes_where_it_covers_no_point(study):
    for plot in (params_plot, history_plot, curves_plot):
        fig = plot(study)
        ax = drawn(fig)
        legend = ax.get_legend().get_window_extent()
        assert legend.y1 < ax.get_window_extent().y0, plot.__name__
        plt.close(fig)


def test_a_single_point_is_no_pareto_front(single, study):
    fig = params_plot(single)
    assert not any("Pareto" in label for label in labels(fig.axes[0]))
    plt.close(fig)
    fig = params_plot(study)
    (front,) = [line for line in fig.axes[0].lines if "Pareto" in line.get_label()]
    assert len(front.get_xdata()) > 1
    plt.close(fig)


def test_over_budget_marks_lie_wholly_inside_the_axes(study):
    rejected = sum(is_budget_rejected(t) for t in study.trials)
    for plot in (params_plot, history_plot):
        fig = plot(study)
        ax = drawn(fig)
        (marks,) = [line for line in ax.lines if line.get_label().startswith("over budget")]
        assert len(marks.get_xdata()) == rejected
        half = marks.get_markersize() * fig.dpi / 72 / 2  # points to pixels
        ys = marks.get_transform().transform(marks.get_xydata())[:, 1]
        assert (ys - half >= ax.get_window_extent().y0).all(), plot.__name__
        plt.close(fig)


def test_the_history_shows_pruned_trials_and_says_what_the_trials_came_to(study):
    fig = history_plot(study)
    ax = fig.axes[0]
    points = {c.get_label(): len(c.get_offsets()) for c in ax.collections}
    pruned = sum(t.state == TrialState.PRUNED and is_trained(t) for t in study.trials)
    complete = sum(t.state == TrialState.COMPLETE for t in study.trials)
    assert points == {"pruned by the pruner (last reported epoch)": pruned, "complete": complete}
    assert breakdown(study.trials) in ax.get_title()
    plt.close(fig)


def test_every_curve_shows_even_one_epoch_and_the_best_are_never_grey(study):
    fig = curves_plot(study)
    ax = fig.axes[0]
    trained = [t for t in study.trials if t.intermediate_values]
    assert len(ax.lines) == len(trained)
    for line in ax.lines:
        assert line.get_marker() in ("o", "x")  # a curve of one epoch is still a mark
        r, g, b = to_rgb(line.get_color())
        coloured = line.get_linewidth() == 2
        assert coloured != (r == g == b), line.get_label()  # the best 5 in colour, others grey
    assert sum(line.get_linewidth() == 2 for line in ax.lines) == 5
    stopped = [line for line in ax.lines if line.get_marker() == "x"]
    assert len(stopped) == sum(t.state == TrialState.PRUNED for t in trained)
    plt.close(fig)


def test_one_epoch_gets_one_whole_tick(single):
    fig = curves_plot(single)
    ax = drawn(fig)
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks == [1]
    plt.close(fig)


def test_importances_say_how_many_trials_they_rest_on(study):
    complete = sum(t.state == TrialState.COMPLETE for t in study.trials)
    fig = importances_plot(study)
    title = fig.axes[0].get_title()
    assert f"from {complete} completed trials" in title
    assert ("rough below 20" in title) == (complete < 20)
    assert fig.axes[0].get_title(loc="left") == ""  # Optuna's own, which overlapped ours
    plt.close(fig)


def test_grey_learning_curves_say_how_their_trials_ended():
    import optuna

    study = optuna.create_study(direction="maximize")
    for state in (TrialState.COMPLETE, TrialState.FAIL, TrialState.RUNNING, TrialState.PRUNED):
        trial = study.ask()
        trial.report(0.3, 1)
        if state != TrialState.RUNNING:
            study.tell(trial, 0.3 if state == TrialState.COMPLETE else None, state=state)
    fig = curves_plot(study)
    grey = set(labels(fig.axes[0])) - {"trial 0: 0.3000"}
    assert grey == {"failed (diverged, interrupted, ...)", "running",
                    "pruned by the pruner (x: where)"}  # fmt: skip
    plt.close(fig)
