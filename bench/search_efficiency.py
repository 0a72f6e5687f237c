"""Search efficiency on real CIFAR-10: the default search against what a user would do instead.

Four methods, each given the same wall-clock budget per seed, each in a fresh process:

- default: `search run` itself (the zoo's published designs first, TPE told the budget
  constraint, successive halving on the per-epoch reports, over-budget configs rejected before
  training);
- random: plain Optuna, RandomSampler, no pruner; an over-budget sample is skipped at once;
- tpe: plain Optuna, its default sampler (TPE, not told the constraint), no pruner, same skip;
- raytune: Ray Tune with OptunaSearch (seeded TPE) and the ASHA scheduler, the setup a user of
  this field picks instead (bench/ray_tune_peer.py); an over-budget config reports 0 at once.

And a bar, not a method: zoo, every published design within the budget trained with its
recipe to the end (`search run --pruner none`, the warm start's trials and no others); its
best is what a person gets by picking the right textbook design. It runs for the first seed
only: the sampler's seed does not reach a design's training (seeded by its config), so each
seed would train the same models to the same accuracies on a CPU.

All sample `resnet_budget` under 1,000,000 parameters (`--budget`; `search run`'s own default
is 5,000,000, where the zoo holds 13 designs instead of 5) at the CPU fidelity `search run`
defaults to (search/fidelity.py) and train with `trainers.loop`, one trial at a time. A
method's clock starts when its first trial starts; best-so-far counts only trials that trained
all their epochs (COMPLETE; for Ray Tune, those that reported their last epoch), so a pruned or
ASHA-stopped trial's partial score never counts. The goals: the default's final best at least
every peer's, and it reaches random search's final best in at most a third of the budget, on
the mean over seeds.

    python bench/search_efficiency.py [--minutes 5] [--seeds 0 1 2] [--budget 1000000]
                                      [--out bench/results]
    python bench/search_efficiency.py --methods raytune --seeds 0   # one method
    python bench/search_efficiency.py --combine all.json seed0-again.json --out bench/results

Takes about (minutes + 1) x methods x seeds + 2 for Ray + a few for the zoo (75 minutes with
the defaults) on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import optuna
import ray_tune_peer  # beside this file: bench/ is the script's directory

from search.fidelity import CPU_EPOCHS, CPU_TRAIN_SUBSET, CPU_VAL_SIZE
from search.trial import DESIGN

METHODS = ("default", "random", "tpe", "raytune", "zoo")
STARTUP_S = {"raytune": 120}  # before its first trial: Ray starts (others: 30 s, see run_one)
FIDELITY = {"epochs": CPU_EPOCHS, "train_subset": CPU_TRAIN_SUBSET, "val_size": CPU_VAL_SIZE}
BUDGET = 1_000_000  # parameters, unless --budget: small models train several times a minute


def run_baseline(method: str, seed: int, storage: str, budget: int) -> None:
    """Plain Optuna as a user would write it: sample, skip over-budget, train, return."""
    from search.fidelity import Fidelity
    from spaces import call_space, get_space
    from trainers import count_params
    from trainers.loop import train

    space, fidelity = get_space("resnet_budget"), Fidelity(**FIDELITY)

    def objective(trial: optuna.Trial) -> float:
        config = fidelity.apply(call_space(space, trial, budget))
        if count_params(config.model) > budget:
            raise optuna.TrialPruned("over budget")
        return train(config, device="cpu").val_accuracy

    sampler = (
        optuna.samplers.RandomSampler(seed=seed)
        if method == "random"
        else optuna.samplers.TPESampler(seed=seed)
    )
    study = optuna.create_study(
        storage=storage, study_name=method, direction="maximize", sampler=sampler,
        pruner=optuna.pruners.NopPruner(),
    )  # fmt: skip
    study.optimize(objective)  # until the parent's SIGTERM


def command(method: str, seed: int, storage: str, budget_s: float, budget: int) -> list[str]:
    if method == "raytune":
        return [
            sys.executable, ray_tune_peer.__file__, storage, "--seed", str(seed),
            "--seconds", str(budget_s), "--budget", str(budget),
            *(f"--{key.replace('_', '-')}={value}" for key, value in FIDELITY.items()),
        ]  # fmt: skip
    if method in ("default", "zoo"):
        from spaces import designs_within

        trials = ["--trials", "100000"]  # until stopped
        if method == "zoo":  # the warm start's designs, each to its last epoch, and no others
            trials = ["--trials", str(len(designs_within(budget)[0])), "--pruner", "none"]
        return [
            sys.executable, "-m", "search", "run", "--space", "resnet_budget", "--study", method,
            "--storage", storage, "--budget", str(budget), *trials, "--seed", str(seed),
            "--device", "cpu", "--epochs", str(FIDELITY["epochs"]),
            "--train-subset", str(FIDELITY["train_subset"]),
            "--val-size", str(FIDELITY["val_size"]),
        ]  # fmt: skip
    return [sys.executable, __file__, "--baseline", method, str(seed), storage, str(budget)]


def best_so_far(storage: str, method: str, budget_s: float) -> list[tuple[float, float]]:
    """(seconds since the first trial started, best accuracy) at each improvement, counting
    only trials that trained all their epochs."""
    if method == "raytune":
        return ray_tune_peer.best_so_far(Path(storage), budget_s)
    trials = optuna.load_study(study_name=method, storage=storage).get_trials(deepcopy=False)
    start = min(t.datetime_start for t in trials if t.datetime_start)
    points, best = [], 0.0
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    for t in sorted(done, key=lambda t: t.datetime_complete):
        at = (t.datetime_complete - start).total_seconds()
        if at <= budget_s and t.value > best:
            best = t.value
            points.append((at, best))
    return points


def reach(points: list[tuple[float, float]], target: float) -> float:
    """Seconds until `points` first reach `target`; inf if never."""
    return next((at for at, value in points if value >= target), float("inf"))


def run_one(method: str, seed: int, storage: str, budget_s: float, budget: int) -> None:
    argv = command(method, seed, storage, budget_s, budget)
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started, startup_s = time.monotonic(), STARTUP_S.get(method, 30)
    limit = float("inf") if method == "zoo" else budget_s + startup_s  # the zoo: to the end
    while child.poll() is None and time.monotonic() - started < limit:
        time.sleep(1)  # process start and data loading come before the first trial
    child.send_signal(signal.SIGTERM)
    child.wait(timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument(
        "--budget", type=int, default=BUDGET, help="parameters (default: %(default)s)"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--combine", type=Path, nargs="+", metavar="JSON",
                        help="summarize saved runs instead; a later file's seeds replace "
                        "an earlier one's (to rerun one seed)")  # fmt: skip
    parser.add_argument("--baseline", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        method, seed, storage, budget = args.baseline
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        return run_baseline(method, int(seed), storage, int(budget))
    if args.combine:
        return combine(args.combine, args.out)
    budget_s = 60 * args.minutes
    args.out.mkdir(parents=True, exist_ok=True)
    curves: dict[str, dict[int, list]] = {m: {} for m in args.methods}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for method in args.methods:
                if method != "zoo" or seed == args.seeds[0]:  # the zoo trains alike each seed
                    curves[method][seed] = measure(method, seed, Path(tmp), budget_s, args.budget)
    summarize(curves, budget_s, args.out, args.budget)


def measure(
    method: str, seed: int, tmp: Path, budget_s: float, budget: int
) -> list[tuple[float, float]]:
    """Run one method for one seed; its best-so-far curve, with a line on how it went."""
    if method == "raytune":
        storage = str(tmp / f"{method}-{seed}.jsonl")
    else:
        storage = f"sqlite:///{tmp / f'{method}-{seed}.db'}"
    run_one(method, seed, storage, budget_s, budget)
    curve = best_so_far(storage, method, budget_s)
    if method == "raytune":
        states = ray_tune_peer.counts(Path(storage))
    else:
        trials = optuna.load_study(study_name=method, storage=storage).trials
        states = {s.name: sum(t.state == s for t in trials) for s in optuna.trial.TrialState}
    final = curve[-1][1] if curve else 0.0
    print(f"seed {seed} {method:8s} best {final:.4f}  trials {states}", flush=True)
    if method == "zoo":
        for t in optuna.load_study(study_name=method, storage=storage).trials:
            print(f"  {t.user_attrs.get(DESIGN)}: {t.state.name} {t.value}", flush=True)
    return curve


def combine(files: list[Path], out: Path) -> None:
    curves: dict[str, dict[int, list]] = {}
    budgets = set()  # (seconds, parameters): runs combine only if both are alike
    for file in files:
        saved = json.loads(file.read_text())
        budgets.add((saved["budget_s"], saved.get("budget", BUDGET)))
        for method, runs in saved["curves"].items():
            curves.setdefault(method, {}).update({int(k): points for k, points in runs.items()})
    if len(budgets) != 1:
        raise SystemExit(f"runs of different budgets (seconds, parameters): {sorted(budgets)}")
    out.mkdir(parents=True, exist_ok=True)
    budget_s, budget = budgets.pop()
    summarize({m: dict(sorted(r.items())) for m, r in curves.items()}, budget_s, out, budget)


def value_at(points: list, t: float) -> float | None:
    """A best-so-far curve's value at `t` seconds; None before its first point."""
    return next((value for at, value in reversed(points) if at <= t), None)


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (0 for a single value)."""
    se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
    return statistics.mean(values), se


def mean_curve(runs: dict[int, list], grid: list[float]) -> list[tuple[float, float, float]]:
    """(t, mean, standard error) over seeds at each `t` where every seed has a value."""
    found = []
    for t in grid:
        values = [value_at(points, t) for points in runs.values()]
        if values and None not in values:
            found.append((t, *mean_se(values)))
    return found


def summarize(curves: dict[str, dict[int, list]], budget_s: float, out: Path, budget: int) -> None:
    finals = {m: {s: (p[-1][1] if p else 0.0) for s, p in r.items()} for m, r in curves.items()}
    fractions = []
    for seed, target in finals.get("random", {}).items():
        if seed in curves.get("default", {}):
            fractions.append(reach(curves["default"][seed], target) / budget_s)
            print(f"seed {seed}: default reaches random's final best {target:.4f} after "
                  f"{fractions[-1]:.0%} of the budget")  # fmt: skip
    for method, by_seed in finals.items():
        mean, se = mean_se(list(by_seed.values()))
        print(f"{method:8s} final best: mean {mean:.4f}, standard error {se:.4f} "
              f"(seeds: {', '.join(f'{v:.4f}' for v in by_seed.values())})")  # fmt: skip
    grid = [budget_s * i / 600 for i in range(601)]
    if "default" in curves and "random" in finals:
        target = statistics.mean(finals["random"].values())
        on_mean = reach([(t, m) for t, m, _ in mean_curve(curves["default"], grid)], target)
        print(f"the default's mean curve reaches random's mean final best {target:.4f} after "
              f"{on_mean / budget_s:.0%} of the budget (goal: at most 33%)")  # fmt: skip
    (out / "search_efficiency.json").write_text(json.dumps(
        {"budget_s": budget_s, "fidelity": FIDELITY, "budget": budget, "curves": curves,
         "fractions": fractions}, indent=1))  # fmt: skip
    plot(curves, budget_s, grid, out / "search_efficiency.png", budget)


def plot(
    curves: dict[str, dict[int, list]], budget_s: float, grid: list, path: Path, budget: int
) -> None:
    colors = {"default": "C0", "random": "C1", "tpe": "C2", "raytune": "C3", "zoo": "0.3"}
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for method, runs in curves.items():
        n = len(runs)
        if method == "zoo":  # a bar: the best published design, trained to the end
            mean, se = mean_se([p[-1][1] if p else 0.0 for p in runs.values()])
            ax.axhline(mean, color=colors[method], ls="--",
                       label=f"best published design (zoo), {n} run{'s' * (n != 1)}")  # fmt: skip
            ax.axhspan(mean - se, mean + se, color=colors[method], alpha=0.1)
            continue
        points = mean_curve(runs, grid)
        if not points:
            continue
        ts, means, ses = ([t / 60 for t, _, _ in points], [m for _, m, _ in points],
                          [e for _, _, e in points])  # fmt: skip
        ax.plot(ts, means, color=colors[method], label=f"{method}, mean of {n} seeds")
        ax.fill_between(ts, [m - e for m, e in zip(means, ses, strict=True)],
                        [m + e for m, e in zip(means, ses, strict=True)],
                        color=colors[method], alpha=0.15, lw=0)  # fmt: skip
    ax.axvline(budget_s / 180, color="0.5", ls=":", label="a third of the budget")
    ax.set_xlabel("wall-clock time since the first trial started (minutes)")
    ax.set_ylabel("best validation accuracy so far (fraction)")
    epochs, images = FIDELITY["epochs"], FIDELITY["train_subset"]
    ax.set_title(f"resnet_budget under {budget:,} parameters, {epochs} epochs on {images:,} "
                 "images; bands: standard error over seeds", fontsize=10)  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    main()
