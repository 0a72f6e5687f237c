"""Reading a config file: YAML or JSON, a bare config, or an export of `search export` (or a
run's metrics.json), which holds the config under `config` and what it built beside it
(checked: an edit that moved one of the config's keys out of `config:`, or changed the model,
is said, not trained)."""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from pathlib import Path

import yaml

from errors import ConfigError, UserError
from trainers.config import TrainConfig
from trainers.counting import count_params

__all__ = ["EXPORT_KEYS", "load_config"]

# what `search export` writes beside the config (search/views/export.py)
EXPORT_KEYS = ("config", "n_params", "metrics", "zoo", "gain", "provenance")


class _UniqueKeys(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (where it would keep the
    last silently, and a config would train with a value its reader did not see)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor`: the loader merges it
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # refused below, by the safe loader
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def _check_beside(export: dict, path: Path) -> None:
    """An export holds only EXPORT_KEYS beside its config: any other key is an edit's slip (a
    config key dedented out of `config:`, `model:` or `optim:`), which would not train."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    stray = [key for key in export if key not in EXPORT_KEYS]
    if stray:  # a config field first: the likelier slip
        key = min(stray, key=lambda k: k not in fields)
        raise ConfigError(
            f"{path}: {key!r} beside config, not in it; allowed: the config's keys under "
            f"config:, and beside it only {', '.join(EXPORT_KEYS)}"
        )


def load_config(path: str | Path) -> TrainConfig:
    """Read a config from YAML or JSON: a bare config, or an export holding one under `config`."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise UserError(f"cannot read config {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"cannot read config {path}: not a text file (YAML or JSON)") from None
    try:
        data = yaml.load(text, _UniqueKeys)  # JSON is YAML too
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "malformed"
        raise UserError(f"{path} is not valid YAML or JSON{at}: {problem}") from None
    except RecursionError:  # the composer recurses per level of nesting: `[[[[...`
        raise UserError(f"{path} is not valid YAML or JSON: nested too deeply; allowed: a "
                        "mapping of config keys") from None  # fmt: skip
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a mapping of config keys, got {type(data).__name__}")
    export = None
    if "config" in data and not isinstance(data["config"], dict):  # an emptied `config:`
        raise ConfigError(
            f"{path}: config must be a mapping of the config's keys, got {data['config']!r}; "
            "allowed: model, optim, ... under config:"
        )
    if "config" in data:
        export, data = data, data["config"]  # `search export`'s, or a run's metrics.json
        if "provenance" in export:  # `search export`'s, not a run's metrics.json
            _check_beside(export, path)
    try:
        config = TrainConfig.from_dict(data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    n_params = export.get("n_params") if export else None
    if n_params is not None and (isinstance(n_params, bool) or not isinstance(n_params, int)):
        raise ConfigError(  # unchecked, an edited model would train as the exported one
            f"{path}: n_params must be an integer, the exported model's count, got "
            f"{n_params!r}; allowed: the exported count, or no n_params line"
        )
    if n_params is not None and (built := count_params(config.model)) != n_params:
        raise ConfigError(
            f"{path}: its config builds a model of {built:,} parameters, not the exported "
            f"n_params {n_params:,}; allowed: the exported model, or an edited one without n_params"
        )
    return config
