"""How the default shares a GPU across a space: trials per GPU by the rule of
search/executors/sharing.py, for 1,000 RandomSampler draws within each budget and for the zoo's
published designs. Nothing is built or trained; counts are exact (`count_macs`, `count_params`).

    python bench/gpu_shares.py [--space resnet_budget|path.py] [--draws 1000]
"""

from __future__ import annotations

import argparse
from collections import Counter

import optuna
from space_fractions import random_configs  # bench/, beside this script

from search.executors.sharing import MOST_PER_GPU, trials_per_gpu
from spaces.zoo import ZOO
from trainers import count_params

BUDGETS = (1_000_000, 5_000_000, 20_000_000)
SHARES = [n for n in (1, 2, 4, 8) if n <= MOST_PER_GPU]


def draws_per_share(space_name: str, budget: int, draws: int) -> tuple[Counter, int]:
    """Trials per GPU of the draws within `budget`, and how many draws were over it."""
    shares, over = Counter(), 0
    for config in random_configs(space_name, budget, draws):
        if count_params(config.model) > budget:
            over += 1
        else:
            shares[trials_per_gpu(config)] += 1
    return shares, over


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--space", default="resnet_budget")
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"space {args.space}, {args.draws} RandomSampler draws per budget, those within it")
    print(f"{'budget':>12}" + "".join(f"{f'{n} per GPU':>12}" for n in SHARES))
    for budget in BUDGETS:
        shares, over = draws_per_share(args.space, budget, args.draws)
        within = sum(shares.values())
        cells = "".join(f"{100 * shares[n] / within:>11.1f}%" for n in SHARES)
        print(f"{budget:>12,}{cells}   ({over} over the budget)")
    print("\nthe zoo's designs, with their recipes")
    for design in ZOO:
        config = design.config()
        print(f"  {design.name:<28}{design.n_params:>12,} parameters  batch "
              f"{config.optim.batch_size:>4}  {trials_per_gpu(config)} per GPU")  # fmt: skip


if __name__ == "__main__":
    main()
