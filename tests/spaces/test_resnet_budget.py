"""`resnet_budget` sizes its models to the budget, and samples every knob it offers."""

import optuna
import pytest

from spaces import call_space, get_space, resnet_budget, takes_budget
from spaces.resnet_budget import MIN_FRACTION, sample_shape, width_cap
from trainers import count_params


def draws(budget, n, seed=0):
    """`n` RandomSampler trials of resnet_budget at `budget`: (trial, config) pairs."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(n):
        trial = study.ask()
        yield trial, call_space(resnet_budget, trial, budget)
        study.tell(trial, 0.0)


@pytest.mark.parametrize("budget", [500_000, 5_000_000, 20_000_000])
def test_random_draws_spend_most_of_the_budget_and_rarely_exceed_it(budget):
    fractions = [count_params(c.model) / budget for _, c in draws(budget, 1000)]
    within = sum(0.25 <= f <= 1.0 for f in fractions) / len(fractions)
    over = sum(f > 1.0 for f in fractions) / len(fractions)
    assert within >= 0.60 and over <= 0.15, (within, over)


def test_the_width_is_the_widest_multiple_of_8_within_the_sampled_fraction():
    budget = 2_000_000
    for trial, config in draws(budget, 150, seed=1):
        target = round(trial.params["budget_fraction"] * budget)
        shape = sample_shape(optuna.trial.FixedTrial(trial.params))
        width = config.model.widths[0]
        assert width % 8 == 0 and shape.model(width) == config.model
        n = count_params(config.model)
        assert n <= target or width == 8  # the narrowest is kept even over the fraction
        if width + 8 <= width_cap(budget):
            assert count_params(shape.model(width + 8)) > target


def test_the_budget_reaches_the_space_only_if_it_takes_one():
    assert takes_budget(resnet_budget)

    def plain(trial):
        return resnet_budget(trial)

    assert not takes_budget(plain)
    small = call_space(resnet_budget, optuna.trial.FixedTrial(_params()), 1_000_000)
    large = call_space(resnet_budget, optuna.trial.FixedTrial(_params()), 8_000_000)
    default = call_space(plain, optuna.trial.FixedTrial(_params()), 1_000_000)
    assert count_params(small.model) < count_params(default.model) < count_params(large.model)


def _params(**changes):
    params = {
        "stages": 3, "blocks_1": 2, "blocks_2": 2, "blocks_3": 2, "width_growth": 2.0,
        "block": "basic", "shortcut": "projection", "narrow_stem": False, "se_ratio": 0.0,
        "activation": "relu", "dropout": 0.0, "stochastic_depth": 0.0, "budget_fraction": 0.9,
        "batch_size": 128, "label_smoothing": 0.0, "optimizer": "sgd", "lr": 0.1,
        "nesterov": True, "weight_decay": 5e-4, "schedule": "cosine", "warmup": 0.0,
        "policy": "none", "mix": "none",
    }  # fmt: skip
    return {**params, **changes}


def test_every_knob_is_sampled_and_reaches_the_config():
    seen: dict[str, set] = {}
    deepest = 0
    for _, config in draws(5_000_000, 400, seed=2):
        m, o, a = config.model, config.optim, config.augment
        for key, value in {
            "stages": len(m.depths), "block": m.block, "shortcut": m.shortcut,
            "activation": m.activation, "optimizer": o.optimizer, "policy": a.policy,
            "schedule": config.schedule.name, "milestones": config.schedule.milestones,
            "mix": (a.cutmix_prob > 0, a.mixup_prob > 0), "stem": m.stem_width < m.widths[0],
        }.items():  # fmt: skip
            seen.setdefault(key, set()).add(value)
        deepest = max(deepest, *m.depths)
        assert a.cutmix_prob + a.mixup_prob <= 1.0 and 0 <= m.stochastic_depth <= 0.3
    assert deepest >= 12
    assert seen["stages"] == {2, 3, 4, 5} and seen["policy"] == {"none", "trivialaugment",
                                                                  "randaugment"}  # fmt: skip
    assert seen["optimizer"] == {"sgd", "adamw"} and seen["activation"] == {"relu", "silu"}
    assert seen["shortcut"] == {"projection", "pad"} and seen["stem"] == {False, True}
    assert seen["mix"] == {(False, False), (True, False), (False, True), (True, True)}
    assert (0.3, 0.6, 0.8) in seen["milestones"] and (0.5, 0.75) in seen["milestones"]


def test_blocks_per_stage_reach_18_and_fractions_start_at_the_minimum():
    trial = next(draws(5_000_000, 1))[0]
    assert trial.distributions["blocks_1"].high == 18
    assert trial.distributions["budget_fraction"].low == MIN_FRACTION


def test_mixing_either_splits_its_probability_evenly():
    config = resnet_budget(optuna.trial.FixedTrial(_params(mix="either", mix_prob=0.6)))
    assert config.augment.cutmix_prob == pytest.approx(0.3)
    assert config.augment.mixup_prob == pytest.approx(0.3)
    adamw = resnet_budget(optuna.trial.FixedTrial(
        _params(optimizer="adamw", adamw_lr=1e-3, adamw_weight_decay=0.05)))  # fmt: skip
    assert (adamw.optim.optimizer, adamw.optim.lr, adamw.optim.weight_decay) == (
        "adamw",
        1e-3,
        0.05,
    )


def test_spaces_lists_the_new_parameters():
    from search.views.spaces import sampled_distributions

    found = sampled_distributions(get_space("resnet_budget"))
    for name in ("budget_fraction", "shortcut", "activation", "optimizer", "policy", "mix",
                 "stochastic_depth", "milestones", "narrow_stem"):  # fmt: skip
        assert name in found


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_the_sampled_recipe_reaches_the_config(optimizer):
    """Every published design trains at batch 128: values a design does not use, written here
    rather than recomputed, show the space passes on what was sampled."""
    from spaces import ZOO

    design = next(d for d in ZOO if d.name == "WRN-16-2")
    params = {**design.trial_params(1_000_000), "batch_size": 512, "label_smoothing": 0.15,
              "optimizer": optimizer, "adamw_lr": 3e-3, "adamw_weight_decay": 0.05}  # fmt: skip
    config = resnet_budget(optuna.trial.FixedTrial(params), 1_000_000)
    assert (config.optim.optimizer, config.optim.batch_size, config.optim.label_smoothing) == (
        optimizer, 512, 0.15)  # fmt: skip
    assert config.model == design.model
