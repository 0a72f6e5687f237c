"""The peer comparison's arithmetic: best-so-far curves averaged over seeds with their standard
error, and the zoo's bar run as `search run` trains the warm start's designs and nothing else."""

import json

import pytest
import search_efficiency
from search_efficiency import mean_curve, mean_se, summarize, value_at

from search.fidelity import CPU_EPOCHS, CPU_TRAIN_SUBSET, CPU_VAL_SIZE
from spaces import designs_within


def test_a_curve_has_no_value_before_its_first_finished_trial():
    points = [(10.0, 0.2), (30.0, 0.25)]
    assert value_at(points, 5.0) is None
    assert [value_at(points, t) for t in (10.0, 29.9, 30.0, 99.0)] == [0.2, 0.2, 0.25, 0.25]


def test_the_mean_curve_starts_when_every_seed_has_a_value():
    runs = {0: [(10.0, 0.2), (40.0, 0.3)], 1: [(20.0, 0.4)]}
    got = mean_curve(runs, [0.0, 15.0, 20.0, 50.0])
    assert [t for t, _, _ in got] == [20.0, 50.0]
    (_, mean_20, se_20), (_, mean_50, se_50) = got
    assert mean_20 == pytest.approx(0.3) and se_20 == pytest.approx(0.1)  # sd 0.1414 / sqrt 2
    assert mean_50 == pytest.approx(0.35) and se_50 == pytest.approx(0.05)
    assert mean_se([0.5]) == (0.5, 0.0)


def test_the_summary_states_means_and_the_goal_and_draws_the_zoo_as_a_bar(tmp_path, capsys):
    curves = {
        "default": {0: [(20.0, 0.30), (60.0, 0.34)], 1: [(30.0, 0.32)]},
        "random": {0: [(100.0, 0.30)], 1: [(50.0, 0.31)]},
        "zoo": {0: [(25.0, 0.28), (70.0, 0.29)]},
    }
    summarize(curves, budget_s=300.0, out=tmp_path, budget=2_000_000)
    said = capsys.readouterr().out
    assert "default  final best: mean 0.3300, standard error 0.0100" in said
    assert "zoo      final best: mean 0.2900" in said
    # random's mean final 0.305; the default's mean is 0.31 from 30 s on (both seeds started)
    assert "reaches random's mean final best 0.3050 after 10% of the budget" in said
    saved = json.loads((tmp_path / "search_efficiency.json").read_text())
    assert saved["fidelity"] == search_efficiency.FIDELITY
    assert saved["budget"] == 2_000_000
    assert saved["curves"]["zoo"]["0"] == [[25.0, 0.28], [70.0, 0.29]]
    assert (tmp_path / "search_efficiency.png").stat().st_size > 10_000


def test_the_benchmark_runs_at_the_cpu_default_fidelity_and_the_zoo_to_the_end():
    assert search_efficiency.FIDELITY == {
        "epochs": CPU_EPOCHS, "train_subset": CPU_TRAIN_SUBSET, "val_size": CPU_VAL_SIZE
    }  # fmt: skip
    budget = search_efficiency.BUDGET
    zoo = search_efficiency.command("zoo", 0, "sqlite:///x.db", 300.0, budget)
    fit = len(designs_within(budget)[0])
    assert fit >= 2
    assert zoo[zoo.index("--trials") + 1] == str(fit)
    assert zoo[zoo.index("--pruner") + 1] == "none"
    default = search_efficiency.command("default", 0, "sqlite:///x.db", 300.0, budget)
    assert "--pruner" not in default and "--no-warm-start" not in default


@pytest.mark.parametrize("method", ["default", "zoo", "random", "tpe", "raytune"])
def test_every_method_searches_under_the_budget_it_is_given(method):
    argv = search_efficiency.command(method, 0, "sqlite:///x.db", 300.0, 5_000_000)
    if method in ("random", "tpe"):  # the baseline's child: method, seed, storage, budget
        assert argv[argv.index("--baseline") + 1 :] == [method, "0", "sqlite:///x.db", "5000000"]
    else:
        assert argv[argv.index("--budget") + 1] == "5000000"
    if method == "zoo":  # at 5M the zoo has more designs within the budget than at 1M
        assert argv[argv.index("--trials") + 1] == str(len(designs_within(5_000_000)[0]))


def test_runs_of_different_parameter_budgets_do_not_combine(tmp_path):
    files = []
    for budget in (1_000_000, 5_000_000):
        files.append(tmp_path / f"{budget}.json")
        saved = {"budget_s": 300.0, "budget": budget, "curves": {"random": {"0": [[1.0, 0.2]]}}}
        files[-1].write_text(json.dumps(saved))
    with pytest.raises(SystemExit, match="different budgets"):
        search_efficiency.combine(files, tmp_path / "out")
