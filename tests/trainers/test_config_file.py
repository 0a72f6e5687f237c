"""Config files: YAML or JSON, bare or an export, read with every key and count checked."""

import json

import pytest

from errors import ConfigError, UserError
from trainers import ModelConfig, OptimConfig, TrainConfig, count_params, load_config


def test_missing_keys_take_defaults_and_an_export_is_read_through_its_config_key(tmp_path):
    n = count_params(ModelConfig())
    (tmp_path / "e.yaml").write_text(f"config:\n  optim:\n    lr: 1e-2\nn_params: {n}\n")
    config = load_config(tmp_path / "e.yaml")
    assert config.optim == OptimConfig(lr=0.01)
    assert config.model == ModelConfig()


def test_a_config_that_cannot_train_is_a_config_error_and_an_unreadable_file_is_not(tmp_path):
    (tmp_path / "c.yaml").write_text("optim:\n  lr: 1e300\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: optim\.lr must be"):
        load_config(tmp_path / "c.yaml")
    with pytest.raises(UserError, match="cannot read config") as caught:
        load_config(tmp_path / "missing.yaml")
    assert not isinstance(caught.value, ConfigError)


def test_malformed_yaml_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  depths: [1, 2\n")
    with pytest.raises(UserError, match=r"bad\.yaml is not valid YAML or JSON at line"):
        load_config(path)


def test_yaml_merge_keys_are_read_and_a_key_given_twice_is_still_refused(tmp_path):
    common = "common: &common {stem_width: 8, depths: [1, 1], widths: [8, 16]}\n"
    path = tmp_path / "merged.yaml"
    path.write_text(common + "config:\n  model:\n    <<: *common\n    stem_width: 16\n")
    model = load_config(path).model
    assert (model.stem_width, model.depths, model.widths) == (16, (1, 1), (8, 16))
    path.write_text(common + "config:\n  model:\n    <<: *common\n    dropout: 0.1\n"
                    "    dropout: 0.2\n")  # fmt: skip
    with pytest.raises(UserError, match="key 'dropout' given twice"):
        load_config(path)


def test_a_missing_file_and_a_non_mapping_fail_clearly(tmp_path):
    with pytest.raises(UserError, match="cannot read config"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(UserError, match="must hold a mapping"):
        load_config(tmp_path / "list.yaml")


def test_an_edited_export_that_moved_a_key_out_of_config_is_refused(tmp_path):
    """One indentation slip put `model:` beside `config:`: the file then read as the default
    ResNet-18 (11.2M parameters), trained without a word."""
    model = "model:\n  stem_width: 8\n  depths: [1, 1]\n  widths: [8, 16]\n"
    n = count_params(ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16)))
    path = tmp_path / "e.yaml"
    path.write_text(f"config:\n  epochs: 2\n{model}n_params: {n}\nprovenance: {{trial: 3}}\n")
    with pytest.raises(
        ConfigError, match="'model' beside config, not in it; allowed: the config's keys under"
    ):
        load_config(path)


def test_an_export_whose_model_was_edited_is_refused_unless_n_params_goes_too(tmp_path):
    model = ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16))
    n = count_params(model)
    path = tmp_path / "e.yaml"
    edited = "config:\n  model:\n    stem_width: 8\n    depths: [1, 1]\n    widths: [8, 32]\n"
    path.write_text(f"{edited}n_params: {n}\n")
    wider = count_params(ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 32)))
    with pytest.raises(ConfigError, match=f"builds a model of {wider:,} parameters, not the expo"):
        load_config(path)
    path.write_text(edited)  # the user's own model now: trained as it says
    assert load_config(path).model.widths == (8, 32)
    path.write_text(edited.replace("[8, 32]", "[8, 16]") + f"n_params: {n}\n")
    assert load_config(path).model == model


def test_a_runs_metrics_json_is_read_through_its_config(tmp_path):
    """`search train` writes the run's figures beside its config: `epochs` among them."""
    config = TrainConfig(model=ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16)), epochs=3)
    metrics = {"epochs": 3, "n_params": count_params(config.model), "config": config.to_dict()}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    assert load_config(tmp_path / "metrics.json") == config


def test_a_file_nested_too_deeply_is_one_line_not_a_recursion_error(tmp_path):
    """PyYAML's composer recurses per level: `[[[[...` raised RecursionError, a traceback."""
    path = tmp_path / "deep.yaml"
    path.write_text("[" * 100_000)
    with pytest.raises(UserError, match=r"deep\.yaml is not valid YAML or JSON: nested too deep"):
        load_config(path)


def test_an_edited_export_with_a_nested_key_slipped_out_of_config_is_refused(tmp_path):
    """`weight_decay: 0.01` dedented to the export's top level was dropped without a word: the
    config then trained with the default weight decay, not the user's."""
    n = count_params(ModelConfig())
    path = tmp_path / "e.yaml"
    path.write_text(f"config:\n  optim:\n    lr: 0.05\nweight_decay: 0.01\nn_params: {n}\n"
                    "provenance: {trial: 3}\n")  # fmt: skip
    with pytest.raises(ConfigError, match="'weight_decay' beside config, not in it; allowed"):
        load_config(path)


@pytest.mark.parametrize("written", ["'5266'", "5266.0", "true", "[5266]"])
def test_an_export_whose_n_params_is_no_integer_is_refused_not_left_unchecked(tmp_path, written):
    """`n_params: '5266'` skipped the count's check: the edited model below trained as the
    exported one, and `true` was checked as the count 1."""
    path = tmp_path / "e.yaml"
    path.write_text(f"config:\n  model:\n    stem_width: 8\nn_params: {written}\n")
    with pytest.raises(ConfigError, match="n_params must be an integer"):
        load_config(path)
    path.write_text("config:\n  model:\n    stem_width: 8\nn_params:\n")  # blanked: left out
    assert load_config(path).model.stem_width == 8


@pytest.mark.parametrize("written", ["", " []", " 3"])
def test_an_export_whose_config_is_no_mapping_says_so(tmp_path, written):
    """An emptied `config:` was read as a bare config holding an unknown key 'config',
    whose allowed keys (model, optim, ...) are no fix for an export."""
    path = tmp_path / "e.yaml"
    path.write_text(f"config:{written}\nn_params: 5266\nprovenance: {{trial: 3}}\n")
    with pytest.raises(ConfigError, match="config must be a mapping of the config's keys, got"):
        load_config(path)
