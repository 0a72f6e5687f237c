"""Storage latency as a study grows: ask + per-epoch reports + tell at trial 1,000 against 10.

Each trial does what a trial of `search run` does to the storage, without training: ask (the
study's TPE sampler and SHA pruner), three epochs of report + images/s attribute + should_prune
(which reads the other trials' values at that epoch), then tell COMPLETE. Latency of a trial is
the sum; the figure compares the median of trials 1-20 with the median of the last 20, on the
SQLite default file and on PostgreSQL (Optuna issue #3053 saw PostgreSQL trials slow from 0.5 s
to 5 s as studies grew).

    python bench/storage_latency.py [--trials 1000] [--postgres postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import optuna

from search.pruning import make_pruner
from search.sampling import make_sampler
from search.trial import storage_of
from storage import open_storage

EPOCHS = 3


def one_trial(study: optuna.Study, rng: random.Random) -> float:
    tick = time.perf_counter()
    trial = study.ask()
    value = rng.random()
    for epoch in range(1, EPOCHS + 1):
        trial.report(value * epoch / EPOCHS, epoch)
        trial.set_user_attr("images_per_s", 1000.0)
        trial.should_prune()  # decided but not acted on: every trial completes
    study.tell(trial, value)
    return 1000 * (time.perf_counter() - tick)


def measure(url: str, trials: int) -> list[float]:
    study = optuna.create_study(
        storage=open_storage(url).backend, study_name=f"latency-{uuid.uuid4().hex[:8]}",
        direction="maximize", sampler=make_sampler(0), pruner=make_pruner("sha", EPOCHS),
    )  # fmt: skip
    rng = random.Random(0)
    ms = [one_trial(study, rng) for _ in range(trials)]
    optuna.delete_study(study_name=study.study_name, storage=storage_of(study))
    return ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        for name, url in [("sqlite", f"sqlite:///{Path(tmp) / 'search.db'}"),
                          ("postgresql", args.postgres)]:  # fmt: skip
            ms = measure(url, args.trials)
            early, late = statistics.median(ms[:20]), statistics.median(ms[-20:])
            print(f"{name}: trial latency median, trials 1-20 {early:.1f} ms, trials "
                  f"{args.trials - 19}-{args.trials} {late:.1f} ms, ratio {late / early:.2f} "
                  f"(goal <= 2); total {sum(ms) / 1000:.0f} s", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
