"""Cost of one over-budget trial against an ask/tell of an empty trial, on the same storage.

A rejection is what the driver loop does for a config over the budget: look for queued trials,
sample the config from `resnet_budget` as a draft (search.draft) with the study's sampler (TPE,
multivariate, told the constraint), count its parameters, and write it PRUNED with config,
count, constraint and reason in one transaction. Nothing is built. `asked` is the same through
`study.ask()`, every parameter and attribute its own write (the loop before drafts). The empty
trial is ask + tell in a third study on the same storage. The three alternate, so the machine's
noise hits all alike; medians over `--trials` of each.

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

from search.draft import Draft
from search.fidelity import default_fidelity
from search.pruning import make_pruner
from search.sampling import make_sampler, sample
from spaces import get_space
from storage import mask, open_storage
from trainers import resolve_device


def measure(url: str, trials: int) -> dict[str, list[float]]:
    """Milliseconds per trial: a rejected draft, a rejected asked trial, an empty ask/tell."""
    storage = open_storage(url).backend
    space, fidelity = get_space("resnet_budget"), default_fidelity(resolve_device("cpu"))

    def study(name: str) -> optuna.Study:
        sampler, pruner = make_sampler(0), make_pruner("sha", 2)
        name = f"{name}-{uuid.uuid4().hex[:8]}"  # a shared database may hold earlier runs
        return optuna.create_study(storage=storage, study_name=name, direction="maximize",
                                   sampler=sampler, pruner=pruner)  # fmt: skip

    def draft(study: optuna.Study) -> None:
        trials = study.get_trials(deepcopy=False)  # the loop looks for queued trials first
        trial = Draft(study, trials)
        try:
            sample(trial, space, fidelity, budget=1)  # every model is over 1 parameter
        except optuna.TrialPruned:
            tick = time.perf_counter()
            trial.write(TrialState.PRUNED)
            ms["its write"].append(1000 * (time.perf_counter() - tick))

    def asked(study: optuna.Study) -> None:
        trial = study.ask()
        try:
            sample(trial, space, fidelity, budget=1)
        except optuna.TrialPruned:
            study.tell(trial, state=TrialState.PRUNED)

    def empty(study: optuna.Study) -> None:
        study.tell(study.ask(), 0.0)

    ways = {"draft": draft, "asked": asked, "empty": empty}
    studies = {name: study(name) for name in ways}
    ms: dict[str, list[float]] = {name: [] for name in [*ways, "its write"]}
    for _ in range(trials):
        for name, way in ways.items():
            tick = time.perf_counter()
            way(studies[name])
            ms[name].append(1000 * (time.perf_counter() - tick))
    for done in studies.values():
        optuna.delete_study(study_name=done.study_name, storage=storage)
    return ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL database URL")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        urls = [f"sqlite:///{Path(tmp) / 'search.db'}"] + ([args.postgres] if args.postgres else [])
        for url in urls:
            ms = measure(url, args.trials)
            empty, late_empty = statistics.median(ms["empty"]), statistics.median(ms["empty"][-50:])
            said = [f"{mask(url).split(':')[0]}: empty ask/tell {empty:.1f} ms"]
            for way in ("draft", "asked"):
                median, late = statistics.median(ms[way]), statistics.median(ms[way][-50:])
                said.append(f"rejected {way} {median:.1f} ms = {median / empty:.2f}x "
                            f"(last 50: {late / late_empty:.2f}x)")  # fmt: skip
            write = statistics.median(ms["its write"])
            said.append(f"the draft's one write {write:.1f} ms = {write / empty:.2f}x")
            print("; ".join(said) + " (goal for draft: <= 1.5x)")


if __name__ == "__main__":
    main()
