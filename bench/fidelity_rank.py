"""Which cheap CPU fidelity ranks configs like a longer run, per CPU-minute (issue 14, item 1).

Draws `--configs` varied configs of `resnet_budget` (seeded random samples within the budget,
no compute cap beyond `--max-gmacs`, which keeps the longer run affordable on 2 cores), trains
each at every candidate fidelity and at the reference (the longest run this machine affords),
and prints, per candidate: the Spearman rank correlation of its validation accuracies with the
reference's, the CPU-minutes it took for all configs, and the best accuracy with its standard
error. Results are saved after every training to `--out`, and a rerun skips what is there, so
the run can be stopped and resumed.

    python bench/fidelity_rank.py [--configs 16] [--budget 1000000] [--out /tmp/fidelity.json]
    python bench/fidelity_rank.py --summary /tmp/fidelity.json   # the table only
    python bench/fidelity_rank.py --only "2ep x 2k, val 1k"      # one fidelity, its curves
    python bench/fidelity_rank.py --zoo --only "2ep x 2k, val 1k" reference

`--zoo` also trains the published designs within the budget (the warm start's, spaces/zoo.py)
with their recipes, and says where each ranks among the configs at every fidelity: whether a
cheap fidelity judges them as the longer run does. They are not in the Spearman table.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import optuna
import pandas as pd

from search.fidelity import Fidelity
from search.views.gain import standard_error
from spaces import designs_within, get_space, probe
from trainers import TrainConfig, count_params
from trainers.counting import count_macs
from trainers.loop import train

# name -> (epochs, training images, validation images); "reference" is the longer run.
CANDIDATES = {
    "2ep x 1k, val 1k": (2, 1_000, 1_000),
    "1ep x 2k, val 1k": (1, 2_000, 1_000),
    "1ep x 4k, val 1k": (1, 4_000, 1_000),
    "2ep x 2k, val 1k": (2, 2_000, 1_000),
    "4ep x 1k, val 1k": (4, 1_000, 1_000),
    "3ep x 2k, val 2k": (3, 2_000, 2_000),
    "2ep x 4k, val 2k": (2, 4_000, 2_000),
}
REFERENCE = ("reference", (6, 8_000, 2_000))
ZOO = "zoo:"  # how a published design's results are keyed: "reference | zoo:ResNet-20"


def pick_configs(n: int, budget: int, max_gmacs: float) -> list[TrainConfig]:
    """`n` seeded draws of the space within the budget and the compute cap."""
    space, picked = get_space("resnet_budget"), []
    for _, config in probe(space, 40 * n, seed=0, budget=budget):
        if count_params(config.model) <= budget and count_macs(config.model) <= max_gmacs * 1e9:
            picked.append(config)
        if len(picked) == n:
            return picked
    raise SystemExit(f"only {len(picked)} of {n} draws fit the budget and --max-gmacs")


def run(args: argparse.Namespace) -> None:
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    configs = dict(enumerate(pick_configs(args.configs, args.budget, args.max_gmacs)))
    if args.zoo:
        configs |= {f"{ZOO}{d.name}": d.config(args.budget) for d in designs_within(args.budget)[0]}
    plan = [(n, f) for n, f in [*CANDIDATES.items(), REFERENCE] if n in args.only]
    for name, (epochs, subset, val) in plan:  # cheap first: a stopped run still tells much
        for i, drawn in configs.items():
            key = f"{name} | {i}"
            if key in results:
                continue
            config = Fidelity(epochs, subset, val).apply(drawn)
            m = train(config, data_dir=args.data_dir, device="cpu")
            results[key] = {"val_accuracy": m.val_accuracy, "wall_s": m.wall_s,
                            "n_params": m.n_params, "val_size": val,
                            "history": [h["val_accuracy"] for h in m.history]}  # fmt: skip
            args.out.write_text(json.dumps(results, indent=1))
            print(f"{key:<24} {m.val_accuracy:.3f}  {m.wall_s:6.1f} s  "
                  f"{m.n_params:>9,} params", flush=True)  # fmt: skip
    summary(results)


def spearman(pairs: pd.DataFrame, resamples: int = 2000) -> tuple[float, float, float]:
    """Rank correlation of the two columns, and a 90% bootstrap interval over the configs."""
    rho = pairs.corr(method="spearman").iloc[0, 1]
    rng = np.random.default_rng(0)
    boot = [pairs.iloc[rng.integers(0, len(pairs), len(pairs))].corr(method="spearman").iloc[0, 1]
            for _ in range(resamples)]  # fmt: skip
    low, high = np.nanpercentile(boot, [5, 95])
    return rho, low, high


def summary(results: dict) -> None:
    zoo = {k: v for k, v in results.items() if f" | {ZOO}" in k}
    results = {k: v for k, v in results.items() if k not in zoo}
    ref = {k.split(" | ")[1]: v["val_accuracy"] for k, v in results.items()
           if k.startswith("reference |")}  # fmt: skip
    print(
        f"reference ({REFERENCE[1]}): {len(ref)} configs, "
        f"accuracy {min(ref.values(), default=0):.3f}-{max(ref.values(), default=0):.3f}"
    )
    print(f"{'candidate':<20} {'Spearman':>8} {'90% CI':>11} {'CPU-min':>8} {'best':>6} {'SE':>6}")
    for name in [*CANDIDATES, "reference"]:
        got = {k.split(" | ")[1]: v for k, v in results.items() if k.startswith(name + " |")}
        common = sorted(set(got) & set(ref))
        pairs = pd.DataFrame({"got": [got[i]["val_accuracy"] for i in common],
                              "ref": [ref[i] for i in common]})  # fmt: skip
        rho, low, high = spearman(pairs) if len(common) > 2 else (math.nan,) * 3
        minutes = sum(v["wall_s"] for v in got.values()) / 60
        best = max((v["val_accuracy"] for v in got.values()), default=math.nan)
        se = standard_error(best, next(iter(got.values()), {}).get("val_size", 1))
        print(f"{name:<20} {rho:8.2f} {low:5.2f}-{high:4.2f} {minutes:8.1f} {best:6.3f} {se:6.3f}"
              f"  ({len(common)} configs)")  # fmt: skip
    for name in [*CANDIDATES, "reference"]:  # where a pruner could decide in each run
        curves = pd.DataFrame([v["history"] for k, v in results.items()
                               if k.startswith(name + " |") and "history" in v])  # fmt: skip
        for epoch in range(1, len(curves.columns)) if len(curves) > 2 else ():
            rho, low, high = spearman(curves[[epoch - 1, len(curves.columns) - 1]])
            print(f"{name} after epoch {epoch} of {len(curves.columns)}: Spearman {rho:.2f} "
                  f"with its last epoch ({low:.2f}-{high:.2f})")  # fmt: skip
    if zoo:
        zoo_ranks(zoo, results)


def zoo_ranks(zoo: dict, configs: dict) -> None:
    """Each published design's accuracy and rank among the sampled configs, per fidelity."""
    print("published designs: accuracy, rank among the sampled configs (1 = best)")
    for name in [*CANDIDATES, "reference"]:
        others = [v["val_accuracy"] for k, v in configs.items() if k.startswith(name + " |")]
        for key, v in zoo.items():
            if key.startswith(name + " |"):
                rank = 1 + sum(a > v["val_accuracy"] for a in others)
                print(f"{name:<20} {key.split(ZOO)[1]:<14} {v['val_accuracy']:.3f}  "
                      f"{rank:>2} of {len(others) + 1}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", type=int, default=16)
    parser.add_argument("--budget", type=int, default=1_000_000)
    parser.add_argument("--max-gmacs", type=float, default=0.3)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=Path("/tmp/fidelity.json"))
    parser.add_argument("--only", nargs="+", choices=[*CANDIDATES, REFERENCE[0]],
                        default=[*CANDIDATES, REFERENCE[0]], metavar="NAME",
                        help="train only these fidelities (names as in CANDIDATES)")  # fmt: skip
    parser.add_argument("--zoo", action="store_true",
                        help="also train the published designs within the budget")  # fmt: skip
    parser.add_argument("--summary", type=Path, help="print the table of a saved run and stop")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.summary:
        summary(json.loads(args.summary.read_text()))
    else:
        run(args)


if __name__ == "__main__":
    main()
