"""Cost of one over-budget trial against an ask/tell of an empty trial, on the same storage.

A rejection is what the driver loop does for a config over the budget: ask, sample the config
from `resnet_budget` with the study's sampler (TPE, multivariate, told the constraint), count its
parameters, record config, count, constraint and reason, tell PRUNED. Nothing is built. The
empty trial is ask + tell in a second study on the same storage. The two alternate, so the
machine's noise hits both alike; medians over `--trials` of each.

    python bench/budget_rejection.py [--trials 300] [--postgres postgresql://...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import optuna
from optuna.trial import TrialState

from search.fidelity import default_fidelity
from search.pruning import make_pruner
from search.sampling import make_sampler, sample
from spaces import get_space
from storage import mask, open_storage
from trainers import resolve_device


def measure(url: str, trials: int) -> tuple[list[float], list[float]]:
    storage = open_storage(url).backend
    space, fidelity = get_space("resnet_budget"), default_fidelity(resolve_device("cpu"))

    def study(name: str) -> optuna.Study:
        sampler, pruner = make_sampler(0), make_pruner("sha", 2)
        name = f"{name}-{uuid.uuid4().hex[:8]}"  # a shared database may hold earlier runs
        return optuna.create_study(storage=storage, study_name=name, direction="maximize",
                                   sampler=sampler, pruner=pruner)  # fmt: skip

    rejecting, empty = study("rejections"), study("empty")
    rejection_ms, empty_ms = [], []
    for _ in range(trials):
        tick = time.perf_counter()
        trial = rejecting.ask()
        try:
            sample(trial, space, fidelity, budget=1)  # every model is over 1 parameter
        except optuna.TrialPruned:
            rejecting.tell(trial, state=TrialState.PRUNED)
        rejection_ms.append(1000 * (time.perf_counter() - tick))
        tick = time.perf_counter()
        empty.tell(empty.ask(), 0.0)
        empty_ms.append(1000 * (time.perf_counter() - tick))
    for done in (rejecting, empty):
        optuna.delete_study(study_name=done.study_name, storage=storage)
    return rejection_ms, empty_ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL database URL")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        urls = [f"sqlite:///{Path(tmp) / 'search.db'}"] + ([args.postgres] if args.postgres else [])
        for url in urls:
            rejection, empty = measure(url, args.trials)
            r, e = statistics.median(rejection), statistics.median(empty)
            late_r, late_e = statistics.median(rejection[-50:]), statistics.median(empty[-50:])
            print(f"{mask(url).split(':')[0]}: over-budget trial median {r:.1f} ms, empty "
                  f"ask/tell {e:.1f} ms, ratio {r / e:.2f} (goal <= 1.5); last 50: "
                  f"{late_r:.1f} / {late_e:.1f} ms = {late_r / late_e:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
