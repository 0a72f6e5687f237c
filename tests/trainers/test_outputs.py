import json
import math

import pytest

from trainers.outputs import to_json


def strict(text):
    """JSON as a browser's JSON.parse reads it: NaN and Infinity are not JSON."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_json_written_holds_no_nan_or_infinity_for_a_strict_parser():
    document = {"val_loss": math.nan, "history": [{"speed": math.inf}, (1.5, -math.inf)], "n": 3}
    with pytest.raises(ValueError, match="NaN is not JSON"):
        strict(json.dumps(document))  # what Python writes by default
    assert strict(to_json(document)) == {
        "val_loss": None, "history": [{"speed": None}, [1.5, None]], "n": 3,
    }  # fmt: skip
