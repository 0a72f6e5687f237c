"""A study in its storage: created with what it searches and a note for the dashboard, resumed
only if it searches the same thing, or loaded by name for status, export and report."""

from __future__ import annotations

import datetime
import shlex
import sys
import warnings
from dataclasses import asdict, dataclass

import optuna

from errors import UserError
from search.console import log
from search.fidelity import Fidelity
from search.interrupts import held
from search.pruning import describe_pruner, make_pruner
from search.sampling import make_sampler
from search.trial import DESIGN
from search.warm_start import drop_doubles, warm_start
from spaces import space_key
from storage import Storage, mask_argv
from trainers.config import MAX_SEED

__all__ = [
    "BUDGET",
    "COMMAND",
    "CREATING",
    "CREATION_GRACE_S",
    "FIDELITY",
    "SPACE",
    "WARM_START",
    "Search",
    "create_or_resume",
    "load_study",
    "made_by_search",
    "study_note",
]

# Study attributes: what `search run` stores with a study
SPACE = "space"  # what it searches: a registered name, or the path of the user's file
BUDGET = "budget"  # trainable parameters a model may have
FIDELITY = "fidelity"  # the Fidelity, as a dict
COMMAND = "command"  # the command line that created the study, masked
CREATING = "creating_since"  # when its creation began (UTC, ISO 8601): its first attribute
WARM_START = "warm_start"  # the published designs queued first (names): its last, so it is whole
CREATION_GRACE_S = 60  # after which a study without WARM_START was left half-made by its creator


def made_by_search(attrs: dict[str, object]) -> bool:
    """Whether a study of these user attributes was made by `search run`: it records its space."""
    return SPACE in attrs


@dataclass(frozen=True)
class Search:
    """What a study searches; stored with it and checked when it is resumed."""

    space: str  # registered name, or path of the user's file
    budget: int  # trainable parameters a model may have
    fidelity: Fidelity
    pruner: str = "sha"  # not checked: a study may go on with another pruner

    def attrs(self) -> dict[str, object]:
        """What is stored and checked."""
        return {SPACE: self.space, BUDGET: self.budget, FIDELITY: asdict(self.fidelity)}


def load_study(storage: Storage, name: str | None) -> optuna.Study:
    """An existing study (None: the storage's only one); an unknown name fails with the names
    that exist."""
    names = optuna.get_all_study_names(storage.backend)
    if name is None and len(names) == 1:
        name = names[0]
    elif name is None:
        known = ", ".join(sorted(names)) or "none yet"
        raise UserError(f"--study is needed: {storage.description} holds {len(names)} studies "
                        f"({known}); allowed: --study NAME")  # fmt: skip
    if name not in names:
        known = ", ".join(sorted(names)) or "none yet"
        raise UserError(f"no study {name!r} in {storage.description}; studies there: {known}")
    study = optuna.load_study(study_name=name, storage=storage.backend)
    _check_objectives(study)
    if not made_by_search(study.user_attrs) and CREATING in study.user_attrs:
        raise UserError(f"study {name!r} is half-made: a `search run` began it and has not "
                        "recorded its space (it is being made, or its process died); allowed: "
                        "the `search run` command that began it, which makes it whole")  # fmt: skip
    if not made_by_search(study.user_attrs):
        raise UserError(f"study {name!r} was not made by `search run` (it records no space); "
                        "allowed: a study `search run` made")  # fmt: skip
    return study


def _check_objectives(study: optuna.Study) -> None:
    if len(study.directions) != 1:
        raise UserError(
            f"study {study.study_name!r} has {len(study.directions)} objectives; allowed: a "
            "study of one, validation accuracy, as `search run` makes"
        )


def study_note(search: Search, command: str) -> str:
    """The Markdown note the dashboard shows on the study's page."""
    return "\n".join(
        [
            "## Budget-constrained ResNet search on CIFAR-10",
            "",
            "- **objective**: `val_accuracy`, maximized (validation accuracy, held-out images)",
            f"- **space**: `{search.space}`",
            f"- **budget**: {search.budget:,} trainable parameters; over-budget configs are "
            "PRUNED before training, with `pruned_reason` starting `budget:`",
            f"- **fidelity**: {search.fidelity.describe()}",
            f"- **pruner**: {describe_pruner(search.pruner, search.fidelity.epochs)} (its prunes "
            "say `pruner:`)",
            f"- **started with**: `{command}`",
            "",
            "Each trial's user attributes hold `n_params`, its full `config` and its metrics.",
        ]
    )


def _create(storage: Storage, name: str, search: Search, warm: bool) -> bool:
    """A new study with its settings and note, and the zoo's designs queued first if `warm`;
    False if another process just created it. An interrupt waits until it is all written: a
    study found is resumed, never made again, so its designs would never be queued."""
    import optuna_dashboard  # half a second to import; only a new study writes a note

    with held():
        try:
            study = optuna.create_study(
                study_name=name, storage=storage.backend, direction="maximize"
            )
        except optuna.exceptions.DuplicatedStudyError:
            return False
        study.set_user_attr(CREATING, datetime.datetime.now(datetime.UTC).isoformat())
        with warnings.catch_warnings():  # experimental since Optuna 3.2; dashboards read it
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(["val_accuracy"])
        for key, value in search.attrs().items():
            study.set_user_attr(key, value)
        command = _command()
        study.set_user_attr(COMMAND, command)
        optuna_dashboard.save_note(study, study_note(search, command))
        study.set_user_attr(
            WARM_START, warm_start(study, search.space, search.budget) if warm else []
        )
        _drop_doubles(study)  # held up past the grace, it may find another run made it whole
    return True


def _made_whole(study: optuna.Study, search: Search, warm: bool) -> None:
    """Queue the designs of a study whose creator died before it had (SIGKILL, a power cut:
    signals it cannot hold off), once it is clearly not still writing it; a study is resumed,
    never made again, so they would never be queued. Studies of earlier versions are whole."""
    attrs = study.user_attrs
    if WARM_START in attrs or CREATING not in attrs:
        return
    begun = datetime.datetime.fromisoformat(attrs[CREATING])
    if (datetime.datetime.now(datetime.UTC) - begun).total_seconds() < CREATION_GRACE_S:
        return  # its creator may still be writing it; the next run looks again
    queued = {t.user_attrs.get(DESIGN) for t in study.get_trials(deepcopy=False)}
    log(f"study {study.study_name!r} was left half-made by a process that died; making it whole")
    with held():
        if COMMAND not in attrs:  # what export and status name as the command to go on with
            study.set_user_attr(COMMAND, _command())
        names = warm_start(study, search.space, search.budget, queued) if warm else []
        study.set_user_attr(WARM_START, names)
        _drop_doubles(study)  # another driver may have made it whole at the same moment


def _command() -> str:
    """This process's command line, masked: the one that goes on with the study."""
    return shlex.join(["search", *mask_argv(sys.argv[1:])])


def _drop_doubles(study: optuna.Study) -> None:
    if dropped := drop_doubles(study):
        log(f"{dropped} of the designs another process queued too are dropped: each trains once")


def create_or_resume(
    storage: Storage, name: str, search: Search, seed: int | None, warm: bool = True
) -> optuna.Study:
    """The study, created (its first trials the zoo's designs within budget, if `warm`), or
    resumed if what it searches is the same, with its pruner and a sampler seeded with `seed`."""
    created = False
    if name not in optuna.get_all_study_names(storage.backend):
        created = _create(storage, name, search, warm)
    pruner = make_pruner(search.pruner, search.fidelity.epochs)
    study = optuna.load_study(study_name=name, storage=storage.backend, pruner=pruner)
    _check_objectives(study)
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise UserError(f"study {name!r} minimizes; allowed: a study that maximizes accuracy")
    for key, value in search.attrs().items():
        stored = study.user_attrs.get(key)
        if key == SPACE and isinstance(stored, str):  # a path stored as it was typed
            stored = space_key(stored)
        if stored is None and study.get_trials(deepcopy=False):  # another program's
            raise UserError(f"study {name!r} was not made by `search run` (it records no "
                            f"{key}); allowed: a new --study name")  # fmt: skip
        if stored is None:  # its creator, started at the same moment, has not written it yet
            study.set_user_attr(key, value)
        elif stored != value:
            raise UserError(
                f"study {name!r} was created with {key} {stored!r}, not {value!r}; "
                f"allowed: the same {key}, or a new --study name"
            )
    if not created:
        _made_whole(study, search, warm)
    if seed is not None and not created:  # resumed: don't replay the random start-up
        seed = (seed + len(study.get_trials(deepcopy=False))) % (MAX_SEED + 1)
    study.sampler = make_sampler(seed)
    return study
