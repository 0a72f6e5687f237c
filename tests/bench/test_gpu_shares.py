"""bench/gpu_shares.py tallies the rule's trials per GPU over real draws of the space."""

import gpu_shares

from search.executors.sharing import MOST_PER_GPU


def test_draws_within_the_budget_are_tallied_by_trials_per_gpu():
    shares, over = gpu_shares.draws_per_share("resnet_budget", 1_000_000, 60)
    assert sum(shares.values()) + over == 60
    assert set(shares) <= {1, 2, 4} and max(shares) == MOST_PER_GPU  # small models: 4 per GPU
