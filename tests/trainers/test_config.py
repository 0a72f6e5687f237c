import json
import re

import pytest

from errors import ConfigError, UserError
from trainers import ModelConfig, TrainConfig, load_config


def test_round_trip_through_dicts_json_and_yaml(tmp_path):
    config = TrainConfig(model=ModelConfig(depths=(1, 2, 3), widths=(8, 16, 32)))
    assert TrainConfig.from_dict(config.to_dict()) == config
    (tmp_path / "c.json").write_text(json.dumps(config.to_dict()))
    assert load_config(tmp_path / "c.json") == config


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"model": {"widthz": 3}}, "unknown key 'model.widthz'; allowed: stem_width"),
        ({"epochs": "ten"}, "epochs must be an integer, got 'ten'"),
        ({"epochs": 2.5}, "epochs must be an integer"),
        ({"epochs": 0}, "epochs must be an integer 1 to 10,000, got 0"),
        ({"epochs": 10**23}, "epochs must be an integer 1 to 10,000, got 1"),
        ({"model": {"depths": [1]}, "epochs": 1}, "model.depths must be a list of 2 to 5 stages"),
        ({"model": {"depths": [1, 1], "widths": [8]}}, "model.widths must be one width per"),
        ({"model": {"block": "dense"}}, "model.block must be one of basic, preact"),
        ({"model": {"depths": "22"}}, "model.depths must be a list"),
        ({"augment": {"flip": "yes"}}, "augment.flip must be true or false"),
        ({"optim": {"lr": -1}}, "optim.lr must be a positive number"),
        ({"model": []}, "model must be a mapping"),
        ({"optim": {"lr": 1e300}}, "optim.lr must be a positive number up to 10, got 1e+300"),
        ({"optim": {"lr": 10**400}}, "optim.lr must be a finite number, got an integer over"),
        ({"optim": {"weight_decay": float("inf")}}, "optim.weight_decay must be a finite number"),
        ({"optim": {"weight_decay": 2}}, "optim.weight_decay must be 0 to 1, got 2.0"),
        ({"optim": {"batch_size": 50_001}}, "optim.batch_size must be an integer 2 to 50,000"),
        ({"augment": {"cutmix_alpha": "inf"}}, "augment.cutmix_alpha must be a finite number"),
        ({"schedule": {"gamma": float("nan")}}, "schedule.gamma must be a finite number, got nan"),
        ({"model": {"depths": [201, 1], "widths": [8, 8]}}, "model.depths must be integers 1 to"),
        ({"optim": {"optimizer": "adam"}}, "optim.optimizer must be one of sgd, adamw, got 'adam'"),
        ({"optim": {"nesterov": 1}}, "optim.nesterov must be true or false, got 1"),
        ({"augment": {"mixup_prob": 1.5}}, "augment.mixup_prob must be in [0, 1], got 1.5"),
        ({"augment": {"mixup_alpha": 0}}, "augment.mixup_alpha must be > 0, got 0.0"),
        (
            {"augment": {"cutmix_prob": 0.6, "mixup_prob": 0.5}},
            "augment.cutmix_prob + augment.mixup_prob must be at most 1 (a batch gets at most "
            "one of them), got 0.6 + 0.5",
        ),
        (
            {"augment": {"policy": "autoaugment"}},
            "augment.policy must be one of none, trivialaugment, randaugment",
        ),
        ({"augment": {"randaugment_ops": 0}}, "augment.randaugment_ops must be 1 to 5, got 0"),
        ({"augment": {"randaugment_ops": 6}}, "augment.randaugment_ops must be 1 to 5, got 6"),
        ({"augment": {"randaugment_magnitude": 31}}, "augment.randaugment_magnitude must be 0 to"),
        ({"model": {"shortcut": "conv"}}, "model.shortcut must be one of projection, pad"),
        ({"model": {"activation": "gelu"}}, "model.activation must be one of relu, silu, elu"),
        ({"model": {"stochastic_depth": 1}}, "model.stochastic_depth must be in [0, 1), got 1.0"),
        (
            {"model": {"shortcut": "pad", "stem_width": 16, "depths": [1, 1], "widths": [32, 16]}},
            "model.widths must not shrink (from model.stem_width 16) with model.shortcut pad",
        ),
        (
            {"model": {"shortcut": "pad", "stem_width": 64, "depths": [1, 1], "widths": [32, 64]}},
            "allowed: non-decreasing widths, or model.shortcut projection; got (32, 64)",
        ),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(data, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        TrainConfig.from_dict(data)


def test_a_space_may_pass_lists_but_not_wrong_types():
    from trainers import ScheduleConfig

    model = ModelConfig(depths=[1, 2], widths=[8, 16], stem_width=8)
    assert model.depths == (1, 2) and hash(model)
    assert ScheduleConfig(gamma=1).gamma == 1.0 and isinstance(ScheduleConfig(gamma=1).gamma, float)
    with pytest.raises(UserError, match=r"model\.widths\[0\] must be an integer, got 8\.5"):
        ModelConfig(depths=(1, 1), widths=(8.5, 16))
    with pytest.raises(UserError, match="seed must be 0 to 2"):
        TrainConfig(seed=2**70)


def test_an_old_config_without_the_newer_keys_gets_todays_behaviour():
    old = {"model": {"depths": [1, 1], "widths": [8, 16]}, "optim": {"lr": 0.05},
           "augment": {"cutmix_prob": 0.5}}  # fmt: skip
    config = TrainConfig.from_dict(old)
    assert (config.model.shortcut, config.model.activation) == ("projection", "relu")
    assert config.model.stochastic_depth == 0.0
    assert (config.optim.optimizer, config.optim.nesterov) == ("sgd", True)
    assert (config.augment.mixup_prob, config.augment.policy) == (0.0, "none")
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_configs_are_frozen():
    with pytest.raises(AttributeError):
        TrainConfig().epochs = 3  # type: ignore[misc]
