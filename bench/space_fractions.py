"""Where a space's random draws land against the budget: 1,000 RandomSampler draws per budget.

For each budget, the share of models within 25-100% of it, over it, and under 5% of it. The
goal (issue 13): at least 60% within 25-100% and at most 15% over, at every budget from
500,000 to 20,000,000. Nothing is built or trained; counts are exact.

    python bench/space_fractions.py [--space resnet_budget|path.py] [--draws 1000]
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import optuna

from spaces import get_space, probe
from trainers import TrainConfig, count_params

BUDGETS = (500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000, 20_000_000)


def random_configs(space_name: str, budget: int, draws: int) -> Iterator[TrainConfig]:
    """`draws` configs of the space at `budget`, sampled by a seeded RandomSampler."""
    return (config for _, config in probe(get_space(space_name), draws, budget=budget))


def fractions(space_name: str, budget: int, draws: int) -> list[float]:
    """Parameters / budget of `draws` random configs of the space at `budget`."""
    configs = random_configs(space_name, budget, draws)
    return [count_params(config.model) / budget for config in configs]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--space", default="resnet_budget")
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"space {args.space}, {args.draws} RandomSampler draws per budget")
    print(f"{'budget':>12} {'25-100%':>8} {'over':>6} {'<5%':>6} {'median':>7}")
    for budget in BUDGETS:
        f = sorted(fractions(args.space, budget, args.draws))
        within = sum(0.25 <= x <= 1.0 for x in f) / len(f)
        over, tiny = sum(x > 1.0 for x in f) / len(f), sum(x < 0.05 for x in f) / len(f)
        print(f"{budget:>12,} {within:>8.1%} {over:>6.1%} {tiny:>6.1%} {f[len(f) // 2]:>7.2f}")


if __name__ == "__main__":
    main()
