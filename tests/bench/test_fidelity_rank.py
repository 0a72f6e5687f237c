"""bench/fidelity_rank.py: its configs fit the budget and the compute cap, its rank correlation
is Spearman's, and its table reads a saved run (so the measurement cannot rot unseen)."""

import fidelity_rank
import pandas as pd
import pytest

from trainers import count_params
from trainers.counting import count_macs


def test_the_configs_fit_the_budget_and_the_compute_cap():
    picked = fidelity_rank.pick_configs(4, budget=300_000, max_gmacs=0.05)
    assert len(picked) == 4
    for config in picked:
        assert count_params(config.model) <= 300_000
        assert count_macs(config.model) <= 0.05e9


def test_the_rank_correlation_is_spearmans_with_an_interval_around_it():
    same = pd.DataFrame({"got": [0.1, 0.3, 0.2, 0.5], "ref": [0.4, 0.8, 0.6, 0.9]})
    rho, low, high = fidelity_rank.spearman(same, resamples=200)
    assert rho == pytest.approx(1.0) and low <= rho <= high
    reversed_ = pd.DataFrame({"got": [4, 3, 2, 1], "ref": [1, 2, 3, 4]})
    assert fidelity_rank.spearman(reversed_, resamples=10)[0] == pytest.approx(-1.0)


def four_configs(name):
    """A saved run of 4 configs at candidate `name` and at the reference, ranked alike."""
    results = {}
    for i, (cheap, long) in enumerate([(0.11, 0.40), (0.15, 0.55), (0.13, 0.50), (0.20, 0.62)]):
        results[f"{name} | {i}"] = {"val_accuracy": cheap, "wall_s": 30, "val_size": 1_000}
        results[f"reference | {i}"] = {"val_accuracy": long, "wall_s": 300, "val_size": 2_000}
    return results


def test_the_table_compares_each_candidate_with_the_reference(capsys):
    name = next(iter(fidelity_rank.CANDIDATES))
    results = four_configs(name)
    fidelity_rank.summary(results)
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(name))
    # Spearman 1.00, 2 CPU-minutes, best 0.200 with its standard error on 1,000 images
    cells = row[len(name) :].split()
    assert [cells[0], *cells[2:6]] == ["1.00", "2.0", "0.200", "0.013", "(4"]


def test_each_run_says_how_its_early_epochs_rank_like_its_last(capsys):
    name = next(iter(fidelity_rank.CANDIDATES))
    curves = [(0.10, 0.20), (0.12, 0.30), (0.14, 0.25), (0.16, 0.40)]  # epoch 1 ranks 1,2,3,4
    results = {f"{name} | {i}": {"val_accuracy": last, "wall_s": 30, "val_size": 1_000,
                                 "history": [first, last]}
               for i, (first, last) in enumerate(curves)}  # fmt: skip
    fidelity_rank.summary(results)
    said = capsys.readouterr().out
    assert f"{name} after epoch 1 of 2: Spearman 0.80 with its last epoch" in said


def test_the_published_designs_are_ranked_among_the_configs_not_in_the_table(capsys):
    name = next(iter(fidelity_rank.CANDIDATES))
    results = four_configs(name)
    # weakest when cheap, second when long: the cheap fidelity misjudges it
    results[f"{name} | zoo:ResNet-56"] = {"val_accuracy": 0.10, "wall_s": 60, "val_size": 1_000}
    results["reference | zoo:ResNet-56"] = {"val_accuracy": 0.60, "wall_s": 600, "val_size": 2_000}
    fidelity_rank.summary(results)
    said = capsys.readouterr().out
    row = next(line for line in said.splitlines() if line.startswith(name))
    assert row.split()[-2:] == ["(4", "configs)"]  # the table is the sampled configs' only
    assert f"{name:<20} ResNet-56      0.100   5 of 5" in said
    assert f"{'reference':<20} ResNet-56      0.600   2 of 5" in said
