"""Makespan of a search on Ray workers against the ideal, with a fixed-length stand-in trainer.

40 trials of a stand-in that sleeps 2 s per epoch for 3 epochs (no pruning), 2 workers: the
ideal makespan is trials x 6 s / workers = 120 s. The overhead per trial is the trial's life in
the study (ask to tell) minus the 6 s its trainer took. Sampling, the budget check, Ray
scheduling and every storage write (SQLite, through the driver's gRPC proxy) are the product's.

    RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 python bench/ray_makespan.py [--trials 40] [--workers 2]

With `--fresh`, the same again with each trial holding a (logical) GPU and not told to train on
the CPU, as a GPU trial is: Ray then starts a new worker process for every trial (max_calls=1,
search.executors.ray_tasks), whose cost the overhead per trial shows against the first run's.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import optuna
import ray

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


def measure(args: argparse.Namespace, fresh: bool) -> None:
    """Run the search and print its makespan and overhead per trial."""
    trial_s = args.seconds_per_epoch * args.epochs
    with tempfile.TemporaryDirectory() as tmp:
        options = RunOptions(
            study="makespan",
            trials=args.trials,
            storage=f"sqlite:///{Path(tmp, 's.db')}",
            epochs=args.epochs,
            workers=args.workers,
            gpus_per_trial=1 if fresh else None,
            cpus_per_trial=1,
            device=None if fresh else "cpu",
            pruner="none",
            seed=0,
        )
        if fresh:  # logical GPUs: Ray schedules them, nothing uses them
            ray.init(num_cpus=args.workers, num_gpus=args.workers, include_dashboard=False)
        start = time.perf_counter()
        try:
            study = run_search(options, FixedLength(args.seconds_per_epoch))
        finally:
            ray.shutdown()
        end_to_end = time.perf_counter() - start
    trained = [t for t in study.trials if is_trained(t)]
    ended = [t for t in study.trials if t.state.is_finished()]  # not the designs left queued
    first = min(t.datetime_start for t in ended)
    last = max(t.datetime_complete for t in ended)
    makespan = (last - first).total_seconds()
    ideal = len(trained) * trial_s / args.workers
    overhead_ms = [1000 * (t.duration.total_seconds() - trial_s) for t in trained]
    workers = "a new worker process per trial" if fresh else "worker processes reused"
    print(
        f"{len(trained)} trials of {trial_s:g} s on {args.workers} workers, {workers} "
        f"({len(ended) - len(trained)} over-budget samples rejected by the driver)"
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds-per-epoch", type=float, default=2.0)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--fresh", action="store_true", help="also: a new process per trial")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    measure(args, fresh=False)
    if args.fresh:
        measure(args, fresh=True)


if __name__ == "__main__":
    main()
