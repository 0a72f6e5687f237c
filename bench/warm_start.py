"""A search with and without the warm start: best validation accuracy so far against trials.

Each (seed, arm) is a fresh `search run` of `resnet_budget` at a CPU fidelity of 2 epochs on
1,000 images, validated on 1,000, and a 1M budget, where the zoo's WRN-16-2, ResNet-20, -32,
WRN-40-1 and ResNet-56 fit (tried in that order), in its own SQLite file; `warm` enqueues the
published designs first, `cold` is `--no-warm-start`.
Best-so-far counts COMPLETE trials, in the order they were numbered; pruned trials count as
trials but never as the best.

    python bench/warm_start.py [--trials 10] [--seeds 0 1 2] [--budget 1000000]

Takes seeds x 2 x trials CPU trials (about 20 minutes with the defaults on 2 cores).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
from pathlib import Path

import optuna
from optuna.trial import TrialState

from search import RunOptions, run_search
from search.trial import DESIGN, is_trained


def best_so_far(study: optuna.Study) -> list[float]:
    """After each trained trial, the best COMPLETE accuracy so far (0 before the first)."""
    best, out = 0.0, []
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        if not is_trained(trial):
            continue
        if trial.state == TrialState.COMPLETE:
            best = max(best, trial.value)
        out.append(best)
    return out


def run(arm: str, seed: int, trials: int, budget: int, folder: Path) -> optuna.Study:
    options = RunOptions(
        study=f"{arm}-{seed}", trials=trials, budget=budget, seed=seed, device="cpu",
        storage=f"sqlite:///{folder}/{arm}-{seed}.db", epochs=2, train_subset=1000,
        val_size=1000, warm_start=arm == "warm",
    )  # fmt: skip
    with contextlib.redirect_stderr(io.StringIO()):
        return run_search(options)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=int, default=1_000_000)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    curves: dict[str, list[list[float]]] = {"warm": [], "cold": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for arm in curves:
                study = run(arm, seed, args.trials, args.budget, Path(tmp))
                curves[arm].append(best_so_far(study))
                zoo = [f"{t.user_attrs[DESIGN]} {t.value:.3f}" for t in study.trials
                       if DESIGN in t.user_attrs and t.state == TrialState.COMPLETE]  # fmt: skip
                print(f"seed {seed} {arm}: " + " ".join(f"{b:.3f}" for b in curves[arm][-1])
                      + (f"  (designs: {', '.join(zoo)})" if zoo else ""), flush=True)  # fmt: skip
    print(f"\nmedian best-so-far over seeds {args.seeds}, by trained trial:")
    print("trial  " + " ".join(f"{i:>6}" for i in range(1, args.trials + 1)))
    for arm, runs in curves.items():
        medians = [statistics.median(r[i] for r in runs) for i in range(args.trials)]
        print(f"{arm:6} " + " ".join(f"{m:6.3f}" for m in medians))


if __name__ == "__main__":
    main()
