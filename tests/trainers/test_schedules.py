import itertools

import pytest

from trainers import ScheduleConfig
from trainers.schedules import lr_factor

STEPS = 1000


def factors(**kwargs):
    f = lr_factor(ScheduleConfig(**kwargs), STEPS)
    return [f(step) for step in range(STEPS)]


def test_cosine_warms_up_linearly_then_decays_to_zero():
    lr = factors(name="cosine", warmup=0.1)
    assert lr[0] < 0.01 and lr[100] == pytest.approx(1.0)
    assert all(a <= b for a, b in itertools.pairwise(lr[:101]))
    assert all(a >= b for a, b in itertools.pairwise(lr[100:]))
    assert lr[-1] < 1e-4


def test_step_multiplies_by_gamma_at_each_milestone():
    lr = factors(name="step", milestones=(0.5, 0.75), gamma=0.1)
    assert lr[499] == 1.0 and lr[500] == pytest.approx(0.1) and lr[750] == pytest.approx(0.01)


def test_onecycle_rises_to_the_peak_then_falls_to_almost_nothing():
    lr = factors(name="onecycle", pct_start=0.3)
    assert lr[0] == pytest.approx(1 / 25)
    assert max(lr) == pytest.approx(1.0) and lr.index(max(lr)) == 300
    assert lr[-1] < 1e-3


@pytest.mark.parametrize("name", ["cosine", "step", "onecycle"])
@pytest.mark.parametrize("steps", [1, 2, 3, 4])
def test_very_short_runs_are_fine(name, steps):
    f = lr_factor(ScheduleConfig(name=name), steps)
    assert all(0.0 <= f(step) <= 1.0 for step in range(steps))
