"""`search export`: the best trial's full config, metrics and provenance, as YAML or JSON."""

from __future__ import annotations

import datetime
import platform
from importlib import metadata
from pathlib import Path

import optuna
import yaml
from optuna.trial import FrozenTrial

from errors import UserError
from search.study import BUDGET, COMMAND, FIDELITY, SPACE
from search.trial import CONFIG, DESIGN, DEVICE, METRICS, N_PARAMS, reason, retried_from
from search.views.gain import gain, val_size_of
from storage import Storage
from trainers import TrainConfig
from trainers.outputs import to_json

__all__ = ["best_trial", "export_document", "write_document"]

PACKAGES = ("resnet-budget-search", "torch", "torchvision", "optuna", "sqlalchemy", "ray")


def best_trial(study: optuna.Study) -> FrozenTrial:
    """The completed, within-budget trial with the highest validation accuracy."""
    try:
        return study.best_trial
    except ValueError:
        command = study.user_attrs.get(COMMAND)  # with its storage, budget and fidelity
        then = f"go on with the command that made it: {command}" if command else "`search run` it"
        raise UserError(
            f"study {study.study_name!r} has no completed trial within budget yet; {then}"
        ) from None


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def export_document(study: optuna.Study, trial: FrozenTrial, storage: Storage) -> dict:
    """What `search train` needs to rebuild and retrain the trial, and where it came from."""
    config = TrainConfig.from_dict(trial.user_attrs[CONFIG]).to_dict()  # checked round trip
    metrics = {"val_accuracy": trial.value}
    metrics.update({k: trial.user_attrs[k] for k in (*METRICS, DEVICE) if k in trial.user_attrs})
    gained = gain(study.get_trials(deepcopy=False), val_size_of(study))
    return {
        CONFIG: config,
        N_PARAMS: trial.user_attrs[N_PARAMS],
        "metrics": metrics,
        **({DESIGN: trial.user_attrs[DESIGN]} if DESIGN in trial.user_attrs else {}),
        **({"gain": {"line": gained.line(), **gained.as_dict()}} if gained else {}),
        "provenance": {
            "study": study.study_name,
            "trial": trial.number,
            "storage": storage.masked,
            **{key: study.user_attrs.get(key) for key in (SPACE, BUDGET, FIDELITY)},
            "params": trial.params,
            **({"retry": reason(trial)} if retried_from(trial) is not None else {}),
            "exported_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "versions": _versions(),
        },
    }


def write_document(document: dict, path: str | Path) -> Path:
    """Write as JSON if the name ends in .json (any case: .JSON too), else YAML."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        text = to_json(document)
    else:
        text = yaml.safe_dump(document, sort_keys=False)
    try:
        path.write_text(text)
    except OSError as err:
        raise UserError(f"-o {path}: cannot write it ({err.strerror}); allowed: a file in an "
                        "existing directory you can write to") from None  # fmt: skip
    return path
