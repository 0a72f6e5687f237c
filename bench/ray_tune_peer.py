"""The peer a user of this field picks instead of `search run`: Ray Tune with OptunaSearch and
the ASHA scheduler, over the same space and trainer (the `raytune` method of
bench/search_efficiency.py).

- Space: the project's define-by-run space (`resnet_budget`, sized to the budget) wrapped as
  OptunaSearch's define-by-run function. It counts the model's parameters (exactly, nothing
  built) and hands the config and count to the trial as constants. OptunaSearch samples with
  its default, seeded TPE, which is not told the budget.
- Over budget: the trial reports accuracy 0 at once and returns untrained, as a Ray Tune user
  skips such a config; the searcher learns from the 0 that it is bad.
- ASHA with Ray's defaults (grace period 1, reduction factor 4), max_t the fidelity's epochs,
  one report per epoch; one trial at a time holding every CPU, as the other methods train.
- The experiment stops once `seconds` have passed since its first trial started.

Every result is appended, as it arrives, to a JSON-lines record written by the driver, so a run
stopped at any moment leaves what it did. `best_so_far` reads it and counts only trials that
reported their last epoch: a trial ASHA stopped ends with a partial score, which Ray Tune's
results (and OptunaSearch, which tells Optuna such a trial COMPLETE) take for a final one.

    python bench/ray_tune_peer.py RECORD.jsonl --seed 0 --seconds 300 [--budget 1000000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # Ray on 127.0.0.1 only

import optuna
import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

from search.executors.ray_tasks import ray_session
from search.fidelity import Fidelity
from search.interrupts import raising
from spaces import call_space, get_space
from trainers import TrainConfig, count_params, train

METRIC = "val_accuracy"
SEARCH_FIELDS = ("started_at", "epoch", "epochs", METRIC, "over_budget")


@dataclass(frozen=True)
class DefineByRun:
    """OptunaSearch's `space`: samples the project's space, counts the model, returns both.
    A class, not a closure: OptunaSearch pickles it with its state."""

    space: str  # registered name or path of the space
    budget: int
    fidelity: Fidelity

    def __call__(self, trial: optuna.Trial) -> dict[str, Any]:
        config = self.fidelity.apply(call_space(get_space(self.space), trial, self.budget))
        n_params = count_params(config.model)
        return {"train_config": config.to_dict(), "n_params": n_params,
                "over_budget": n_params > self.budget}  # fmt: skip


def trainable(tune_config: dict, device: str = "cpu", data_dir: str | None = None) -> None:
    """One Ray Tune trial: skip an over-budget config at once, else train it with the
    project's trainer, reporting every epoch to Tune (where ASHA may stop it)."""
    started_at = time.time()
    config = TrainConfig.from_dict(tune_config["train_config"])
    if tune_config["over_budget"]:
        tune.report({METRIC: 0.0, "epoch": 0, "epochs": config.epochs, "over_budget": True,
                     "started_at": started_at})  # fmt: skip
        return

    def report(epoch: int, value: float, /, **_: float) -> None:
        tune.report({METRIC: value, "epoch": epoch, "epochs": config.epochs,
                     "over_budget": False, "started_at": started_at})  # fmt: skip

    train(config, report, device=device, data_dir=data_dir)


def run_ray_tune(
    record: Path, seed: int, seconds: float, space: str = "resnet_budget",
    budget: int = 1_000_000, fidelity: Fidelity | None = None, device: str = "cpu",
    data_dir: str | None = None, num_samples: int = -1,
) -> None:  # fmt: skip
    """Run the peer until `seconds` after its first trial started (or `num_samples` trials),
    appending every result to `record`."""
    if __name__ != "__main__":  # imported (by search_efficiency.py, a test): workers can't
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # import it by name
    fidelity = fidelity or Fidelity(epochs=3, train_subset=1000, val_size=1000)
    searcher = OptunaSearch(DefineByRun(space, budget, fidelity), metric=METRIC, mode="max",
                            seed=seed)  # fmt: skip
    scheduler = ASHAScheduler(metric=METRIC, mode="max", max_t=fidelity.epochs)
    with ray_session(None), tempfile.TemporaryDirectory() as results:
        cpus = ray.cluster_resources().get("CPU", 1.0)
        resources = {"gpu": 1} if device.startswith("cuda") else {"cpu": cpus}
        function = tune.with_parameters(trainable, device=device, data_dir=data_dir)
        tuner = tune.Tuner(
            tune.with_resources(function, resources),
            tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler,
                                        num_samples=num_samples, max_concurrent_trials=1),
            run_config=tune.RunConfig(name="raytune", storage_path=results, verbose=0,
                                      stop=_Budget(seconds), callbacks=[_Record(record)]),
        )  # fmt: skip
        tuner.fit()


class _Record(tune.Callback):
    """Appends each result to a JSON-lines file on the driver, as it arrives."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:  # fmt: skip
        row = {"trial": trial.trial_id, "at": time.time(), **{k: result[k] for k in SEARCH_FIELDS}}
        with self.path.open("a") as out:
            out.write(json.dumps(row) + "\n")


class _Budget(tune.Stopper):
    """Stops the whole experiment `seconds` after its first trial started."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.first: float | None = None

    def __call__(self, trial_id: str, result: dict) -> bool:
        started = result.get("started_at")
        if started is not None:
            self.first = started if self.first is None else min(self.first, started)
        return False

    def stop_all(self) -> bool:
        return self.first is not None and time.time() - self.first >= self.seconds


def read_record(record: Path) -> list[dict]:
    """The record's rows; a last line cut short by a kill is left out."""
    rows = []
    for line in record.read_text().splitlines() if record.exists() else []:
        with contextlib.suppress(json.JSONDecodeError):
            rows.append(json.loads(line))
    return rows


def best_so_far(record: Path, budget_s: float) -> list[tuple[float, float]]:
    """(seconds since the first trial started, best final accuracy) at each improvement, over
    trials that trained all their epochs: never a skipped one, never one ASHA stopped."""
    rows = read_record(record)
    if not rows:
        return []
    start = min(row["started_at"] for row in rows)
    finished = [r for r in rows if not r["over_budget"] and r["epoch"] == r["epochs"]]
    points, best = [], 0.0
    for row in sorted(finished, key=lambda r: r["at"]):
        at = row["at"] - start
        if at <= budget_s and row[METRIC] > best:
            best = row[METRIC]
            points.append((at, best))
    return points


def counts(record: Path) -> dict[str, int]:
    """Trials by how they ended: skipped over budget, finished, stopped early (by ASHA or the
    end of the budget)."""
    last: dict[str, dict] = {}
    for row in read_record(record):
        last[row["trial"]] = row
    ended = list(last.values())
    skipped = sum(r["over_budget"] for r in ended)
    finished = sum(not r["over_budget"] and r["epoch"] == r["epochs"] for r in ended)
    return {"over_budget": skipped, "finished": finished,
            "stopped": len(ended) - skipped - finished}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("record", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--budget", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-subset", type=int, default=1000)
    parser.add_argument("--val-size", type=int, default=1000)
    args = parser.parse_args()
    fidelity = Fidelity(args.epochs, args.train_subset, args.val_size)
    with raising():  # SIGTERM from search_efficiency.py: Ray is shut down on the way out
        run_ray_tune(args.record, args.seed, args.seconds, budget=args.budget, fidelity=fidelity)


if __name__ == "__main__":
    main()
