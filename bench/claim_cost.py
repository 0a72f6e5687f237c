"""What claiming a place costs a trial that trains: a sampled trial written RUNNING with the
study's places counted in the same transaction (search.claim), against the same write without.

A study of `--trials` finished trials; then, alternating, drafts with one float parameter are
written RUNNING with and without `wanted` and told COMPLETE. Prints the median write of each,
on the SQLite default file and on PostgreSQL. Only a trial that trains claims a place: a
budget rejection is written without the count (bench/budget_rejection.py).

    python bench/claim_cost.py [--trials 300] [--writes 60] [--postgres URL]
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

from search.draft import Draft
from search.trial import storage_of
from storage import open_storage


def measure(url: str, trials: int, writes: int) -> dict[str, float]:
    study = optuna.create_study(
        storage=open_storage(url).backend, study_name=f"claim-{uuid.uuid4().hex[:8]}",
        direction="maximize",
    )  # fmt: skip
    for _ in range(trials):
        trial = study.ask()
        study.tell(trial, trial.suggest_float("x", 0.0, 1.0))
    ms: dict[str, list[float]] = {"without the count": [], "claiming a place": []}
    for _ in range(writes):
        for way, wanted in zip(ms, (None, 10**9), strict=True):
            draft = Draft(study, study.get_trials(deepcopy=False))
            draft.suggest_float("x", 0.0, 1.0)
            tick = time.perf_counter()
            written = draft.write(TrialState.RUNNING, wanted)
            ms[way].append(1000 * (time.perf_counter() - tick))
            study.tell(written, 0.5)
    optuna.delete_study(study_name=study.study_name, storage=storage_of(study))
    return {way: statistics.median(times) for way, times in ms.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--writes", type=int, default=60)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sqlite = f"sqlite:///{Path(tempfile.mkdtemp()) / 'claim.db'}"
    for name, url in (("SQLite file (WAL)", sqlite), ("PostgreSQL", args.postgres)):
        medians = measure(url, args.trials, args.writes)
        print(f"{name}: " + ", ".join(f"{k} {v:.2f} ms" for k, v in medians.items()))


if __name__ == "__main__":
    main()
