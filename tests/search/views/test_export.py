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
