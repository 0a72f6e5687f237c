"""The benchmarks' accounting: only trials that trained all their epochs count as a method's
best; a pruned trial's partial score (which Optuna stores as its value) and a Ray Tune trial
stopped by ASHA (which Ray Tune and OptunaSearch report as finished) never do. The bench
scripts are imported from bench/, as they import each other (conftest.py)."""

import json
import os
import subprocess
import sys
import time

import optuna
import pytest
import ray_tune_peer
import search_efficiency
import warm_start
from optuna.trial import TrialState


def _study(storage=None, name="default"):
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    complete = study.ask()
    complete.report(0.3, 1)
    study.tell(complete, 0.4)
    pruned = study.ask()
    pruned.report(0.9, 1)  # better than any finished trial, after one epoch
    study.tell(pruned, state=TrialState.PRUNED)
    assert study.trials[-1].value == 0.9  # Optuna keeps it as the pruned trial's value
    return study


def test_a_pruned_trials_partial_score_never_counts_in_search_efficiency(tmp_path):
    storage = f"sqlite:///{tmp_path}/s.db"
    _study(storage)
    points = search_efficiency.best_so_far(storage, "default", budget_s=3600)
    assert [value for _, value in points] == [0.4]


def test_a_pruned_trials_partial_score_never_counts_in_warm_start():
    assert warm_start.best_so_far(_study()) == [0.4, 0.4]


def _row(trial, at, epoch, value, epochs=3, over_budget=False, started_at=1000.0):
    return {"trial": trial, "at": at, "started_at": started_at, "epoch": epoch,
            "epochs": epochs, "val_accuracy": value, "over_budget": over_budget}  # fmt: skip


def rounded(points):
    return [(round(at, 6), round(value, 6)) for at, value in points]


def test_the_ray_tune_record_counts_only_trials_that_reported_their_last_epoch(tmp_path):
    record = tmp_path / "r.jsonl"
    rows = [
        _row("skipped", 1001, 0, 0.0, over_budget=True, started_at=1000.0),
        *(_row("finished", 1010 + e, e, 0.2 * e) for e in (1, 2, 3)),  # 0.6 at 1013
        _row("asha", 1020, 1, 0.95),  # stopped by ASHA after its first epoch
        *(_row("late", 1030 + e, e, 0.7 + 0.01 * e) for e in (1, 2, 3)),  # 0.73 at 1033
    ]
    record.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"trial": "cut')
    assert rounded(ray_tune_peer.best_so_far(record, budget_s=3600)) == [(13, 0.6), (33, 0.73)]
    assert rounded(ray_tune_peer.best_so_far(record, budget_s=20)) == [(13, 0.6)]
    assert ray_tune_peer.counts(record) == {"over_budget": 1, "finished": 2, "stopped": 1}
    assert ray_tune_peer.best_so_far(tmp_path / "none.jsonl", 60) == []


@pytest.mark.slow
def test_the_ray_tune_peer_trains_and_skips_real_trials(tmp_path, fake_cifar):
    """A real Ray Tune run (OptunaSearch, ASHA, the project's trainer) of three tiny trials on a
    tiny subset; a budget that the wider configs of the tiny space exceed."""
    from tests.conftest import ROOT, TINY_SPACE

    record = tmp_path / "r.jsonl"
    started = time.time()
    # in its own process, as the benchmark runs it: Ray Tune changes its process for good
    # (signal handlers, logging), which later in-process CLI tests must not inherit
    script = (
        "import sys; sys.path.append(sys.argv[1] + '/bench')\n"
        "import ray_tune_peer\n"
        "from search.fidelity import Fidelity\n"
        "from pathlib import Path\n"
        "ray_tune_peer.run_ray_tune(Path(sys.argv[2]), seed=0, seconds=600, space=sys.argv[3],\n"
        "    budget=12_000, fidelity=Fidelity(epochs=2, train_subset=128, val_size=128),\n"
        "    data_dir=sys.argv[4], num_samples=3)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", script, str(ROOT), str(record), str(TINY_SPACE),
                    str(fake_cifar)], check=True, env=env, timeout=540)  # fmt: skip
    rows = ray_tune_peer.read_record(record)
    by_trial = {}
    for row in rows:
        by_trial.setdefault(row["trial"], []).append(row)
    assert len(by_trial) == 3
    for trial_rows in by_trial.values():
        assert all(started <= r["started_at"] <= r["at"] for r in trial_rows)
        if trial_rows[0]["over_budget"]:  # skipped at once: one report, nothing trained
            assert [r["epoch"] for r in trial_rows] == [0]
        else:
            assert [r["epoch"] for r in trial_rows] in ([1], [1, 2])  # [1]: ASHA stopped it
    counted = ray_tune_peer.counts(record)
    assert counted["over_budget"] >= 1 and counted["finished"] >= 1, counted
    finals = {r["val_accuracy"] for r in rows if r["epoch"] == 2}
    best = ray_tune_peer.best_so_far(record, budget_s=600)
    assert best and best[-1][1] == max(finals)
