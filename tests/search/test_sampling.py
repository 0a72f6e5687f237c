"""The study's sampler: TPE's random start-up comes on top of the warm start's designs."""

import optuna
from optuna.distributions import FloatDistribution

from search.sampling import RANDOM_STARTUP, make_sampler

X = FloatDistribution(0.0, 1.0)


def first_draw(sampler: optuna.samplers.BaseSampler, done: int) -> float:
    """The x a study with `done` finished trials (best near x = 0.9) asks for next."""
    study = optuna.create_study(sampler=sampler, direction="maximize")
    for i in range(done):
        x = i / done
        study.add_trial(optuna.trial.create_trial(params={"x": x}, distributions={"x": X},
                                                  value=-((x - 0.9) ** 2)))  # fmt: skip
    return study.ask({"x": X}).params["x"]


def test_the_designs_add_to_the_random_startup():
    random = first_draw(optuna.samplers.RandomSampler(seed=0), RANDOM_STARTUP)
    assert first_draw(make_sampler(0, designs=3), RANDOM_STARTUP) == random  # 10 < 10 + 3
    assert first_draw(make_sampler(0, designs=3), RANDOM_STARTUP + 3) != random  # TPE models
    assert first_draw(make_sampler(0), RANDOM_STARTUP) != random  # no designs: TPE from 10
