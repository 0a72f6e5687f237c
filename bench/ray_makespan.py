"""Makespan of a search on Ray workers against the ideal, with a fixed-length stand-in trainer.

40 trials of a stand-in that sleeps 2 s per epoch for 3 epochs (no pruning), 2 workers: the
ideal makespan is trials x 6 s / workers = 120 s. The overhead per trial is the trial's life in
the study (ask to tell) minus the 6 s its trainer took. Sampling, the budget check, Ray
scheduling and every storage write (SQLite, through the driver's gRPC proxy) are the product's.

    RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 python bench/ray_makespan.py [--trials 40] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import optuna

from search import RunOptions, is_trained, run_search
from trainers import Metrics, TrainConfig, count_params


class FixedLength:
    """A trainer that takes exactly `seconds_per_epoch` per epoch and learns nothing."""

    def __init__(self, seconds_per_epoch: float) -> None:
        self.seconds_per_epoch = seconds_per_epoch

    def __call__(self, config: TrainConfig, report=None, **_: object) -> Metrics:
        for epoch in range(1, config.epochs + 1):
            time.sleep(self.seconds_per_epoch)
            if report is not None:
                report(epoch, 0.1 * epoch, images_per_s=1.0)
        n = count_params(config.model)
        return Metrics(0.1 * config.epochs, 1.0, config.epochs, 1.0, 0.0, n, "cpu", "fp32")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds-per-epoch", type=float, default=2.0)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trial_s = args.seconds_per_epoch * args.epochs
    with tempfile.TemporaryDirectory() as tmp:
        options = RunOptions(
            study="makespan",
            trials=args.trials,
            storage=f"sqlite:///{Path(tmp, 's.db')}",
            epochs=args.epochs,
            workers=args.workers,
            cpus_per_trial=1,
            device="cpu",
            pruner="none",
            seed=0,
        )
        start = time.perf_counter()
        study = run_search(options, FixedLength(args.seconds_per_epoch))
        end_to_end = time.perf_counter() - start
    trained = [t for t in study.trials if is_trained(t)]
    first = min(t.datetime_start for t in study.trials)
    last = max(t.datetime_complete for t in study.trials)
    makespan = (last - first).total_seconds()
    ideal = len(trained) * trial_s / args.workers
    overhead_ms = [1000 * (t.duration.total_seconds() - trial_s) for t in trained]
    print(
        f"{len(trained)} trials of {trial_s:g} s on {args.workers} workers "
        f"({len(study.trials) - len(trained)} over-budget samples rejected by the driver)"
    )
    print(
        f"makespan (first ask to last tell): {makespan:.1f} s; ideal {ideal:.1f} s; "
        f"{100 * (makespan / ideal - 1):.1f}% over"
    )
    print(f"end to end, Ray start and shutdown included: {end_to_end:.1f} s")
    print(
        f"overhead per trial (life in the study minus {trial_s:g} s): median "
        f"{statistics.median(overhead_ms):.0f} ms, max {max(overhead_ms):.0f} ms "
        f"(the first trials wait for Ray to start its workers)"
    )


if __name__ == "__main__":
    main()
