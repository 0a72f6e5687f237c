import json

import pytest
import yaml

from search.views.export import write_document

DOCUMENT = {"config": {"epochs": 2}, "n_params": 1234}


@pytest.mark.parametrize("name", ["best.json", "best.JSON", "best.Json"])
def test_a_name_ending_in_json_in_any_case_is_written_as_json(tmp_path, name):
    path = write_document(DOCUMENT, tmp_path / name)
    assert json.loads(path.read_text()) == DOCUMENT


@pytest.mark.parametrize("name", ["best.yaml", "best.YML", "best"])
def test_any_other_name_is_written_as_yaml(tmp_path, name):
    text = write_document(DOCUMENT, tmp_path / name).read_text()
    assert not text.startswith("{") and yaml.safe_load(text) == DOCUMENT


def test_every_key_search_export_writes_beside_config_is_one_search_train_reads(tmp_path):
    """`search train` refuses a key beside config that an export does not hold (an edit's
    slip): each key an export holds must be among those it reads back."""
    import types

    import optuna
    from optuna.distributions import FloatDistribution
    from optuna.trial import create_trial

    from search.views.export import export_document
    from trainers import TrainConfig, count_params, load_config
    from trainers.config_file import EXPORT_KEYS

    config = TrainConfig()
    study = optuna.create_study(direction="maximize")
    study.add_trial(create_trial(value=0.5, params={"lr": 0.1}, distributions={
        "lr": FloatDistribution(0.01, 0.5)}, user_attrs={"config": config.to_dict(), "zoo": "X",
        "n_params": count_params(config.model)}))  # fmt: skip
    document = export_document(study, study.best_trial, types.SimpleNamespace(masked="s"))
    assert {"config", "zoo", "gain", "provenance"} <= set(document) <= set(EXPORT_KEYS)
    assert load_config(write_document(document, tmp_path / "best.yaml")) == config


def test_the_export_of_a_retry_says_so_as_every_view_does(tmp_path):
    """status and report call a retry one (`retry of #0, resumed after epoch 1`); its export
    said nothing of it."""
    import types

    import optuna
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState, create_trial

    from search.views.export import export_document
    from trainers import TrainConfig, count_params

    config, lr = TrainConfig(), {"lr": FloatDistribution(0.01, 0.5)}
    attrs = {"config": config.to_dict(), "n_params": count_params(config.model)}
    study = optuna.create_study(direction="maximize")
    study.add_trial(create_trial(state=TrialState.FAIL, params={"lr": 0.1}, distributions=lr,
                                 user_attrs=attrs))  # fmt: skip
    study.add_trial(create_trial(value=0.5, params={"lr": 0.1}, distributions=lr,
                                 user_attrs={**attrs, "resumed_from_epoch": 1},
                                 system_attrs={"failed_trial": 0}))  # fmt: skip
    document = export_document(study, study.best_trial, types.SimpleNamespace(masked="s"))
    assert document["provenance"]["retry"] == "retry of #0, resumed after epoch 1"
    study.add_trial(create_trial(value=0.9, params={"lr": 0.1}, distributions=lr,
                                 user_attrs=attrs))  # fmt: skip
    document = export_document(study, study.best_trial, types.SimpleNamespace(masked="s"))
    assert "retry" not in document["provenance"]
