"""Search spaces by name: plain define-by-run functions `trial -> TrainConfig`.

Register one with `@register("name")`; `get_space` also takes the path of a user's Python file
that defines a function named `space` (searched even if what it imports registers
others), or registers one. A space that takes a `budget` keyword
(`space(trial, budget)`) is given the run's parameter budget, to size its models to it.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from errors import ConfigError, UserError
from trainers import TrainConfig

if TYPE_CHECKING:
    import optuna

__all__ = [
    "Space",
    "call_space",
    "get_space",
    "probe",
    "register",
    "registered",
    "space_key",
    "takes_budget",
]

Space: TypeAlias = Callable[..., TrainConfig]  # space(trial) or space(trial, budget=...)
_SPACES: dict[str, Space] = {}


def register(name: str) -> Callable[[Space], Space]:
    """Decorator: make the space function findable as `--space name`."""

    def add(space: Space) -> Space:
        _SPACES[name] = space
        return space

    return add


def registered() -> dict[str, Space]:
    """The built-in spaces (the `spaces` package registers them) and any registered since."""
    return dict(_SPACES)


def _name(space: Space) -> str:
    return getattr(space, "__name__", repr(space))


def takes_budget(space: Space) -> bool:
    """Whether the space sizes its models to the budget: it has a `budget` parameter. (Not
    cached: a space may be any callable, a dataclass instance that cannot be hashed among them.)"""
    try:
        return "budget" in inspect.signature(space).parameters
    except (TypeError, ValueError):  # a callable without a signature Python can read
        return False


def call_space(space: Space, trial: optuna.Trial, budget: int | None = None) -> TrainConfig:
    """The space's config for `trial` (given `budget` if it takes one), checked to be a
    TrainConfig."""
    try:
        config = space(trial, budget=budget) if budget and takes_budget(space) else space(trial)
    except SystemExit as err:  # would end the whole search, exit code 0 among them, silently
        raise ConfigError(f"space {_name(space)!r} called sys.exit({err.code!r}); allowed: a "
                          "space that returns a TrainConfig or raises") from err  # fmt: skip
    if inspect.iscoroutine(config):  # an `async def` space: closed, so Python says nothing more
        config.close()
    if not isinstance(config, TrainConfig):
        raise ConfigError(
            f"space {_name(space)!r} returned {type(config).__name__}; allowed: a "
            "trainers.TrainConfig"
        )
    return config


def probe(
    space: Space, n: int, seed: int = 0, budget: int | None = None, until: float | None = None
) -> Iterator[tuple[optuna.Trial, TrainConfig]]:
    """`n` random trials of `space` (at `budget`) in a throwaway in-memory study, and the
    configs of those the space returns one for; none started after `until` (a
    `time.monotonic()`) once one has returned a config, so that a slow space is probed briefly.

    A trial the space fails for is passed over (in a search it fails that trial alone); if it
    fails for every one, a UserError names the space, the first such trial and what it raised.
    """
    import optuna  # half a second: loaded by what probes, not by every import of a space

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    first_fault: UserError | None = None
    returned = False
    for _ in range(n):
        if returned and until is not None and time.monotonic() >= until:
            return
        trial = study.ask()
        try:
            config = _probed(space, n, trial, budget)
        except UserError as fault:
            first_fault = first_fault or fault
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        returned = True
        yield trial, config
        study.tell(trial, 0.0)
    if not returned and first_fault is not None:
        raise first_fault


def _probed(space: Space, n: int, trial: optuna.Trial, budget: int | None) -> TrainConfig:
    """The space's config for one of `n` probes; whatever it raises, a UserError saying it."""
    try:
        return call_space(space, trial, budget)
    except Exception as err:  # a person's space may raise anything: say it
        said = str(err) if isinstance(err, UserError) else f"{type(err).__name__}: {err}"
        raise UserError(
            f"space {_name(space)!r} failed for every one of {n} random trials (the first, "
            f"{trial.params}: {said}); allowed: a space that returns a valid TrainConfig"
        ) from err


_ALLOWED = "allowed: a Python file defining a space, or a registered space's name (`search spaces`)"


def _load_file(path: Path) -> Space:
    if not path.is_file():
        what = ("is a directory" if path.is_dir() else
                "is not a regular file" if path.exists() else "does not exist")  # fmt: skip
        raise UserError(f"space file {path} {what}; {_ALLOWED}")
    before = dict(_SPACES)
    name = f"_search_space_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"space file {path} is not a .py file; {_ALLOWED}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so that trials can be pickled to Ray workers
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        raise UserError(
            f"space file {path}: syntax error at line {err.lineno}: {err.msg}; allowed: a "
            "Python file (UTF-8 unless it declares its encoding)"
        ) from None
    except (Exception, SystemExit) as err:  # a person's file may raise anything: say what
        raise UserError(
            f"space file {path} raised {type(err).__name__} when imported: {err}; allowed: a "
            "file that imports without error"
        ) from err
    candidate = getattr(module, "space", None)
    if callable(candidate):  # its own `space`, though what it imports may register others
        return candidate
    new = [s for key, s in _SPACES.items() if before.get(key) is not s]
    if len(new) == 1:
        return new[0]
    several = f"registers {len(new)} spaces" if len(new) > 1 else "defines no search space"
    raise UserError(
        f"space file {path} {several}; allowed: a function `space(trial)` "
        "returning a TrainConfig, or one function decorated with @spaces.register(name)"
    )


def _is_path(name_or_path: str) -> bool:
    return name_or_path.endswith(".py") or "/" in name_or_path


def space_key(name_or_path: str) -> str:
    """What a study records of its space: the registered name, or the file's absolute path (so
    that another spelling of the same file, or a run started elsewhere, finds it the same)."""
    if _is_path(name_or_path):
        return str(Path(name_or_path).expanduser().resolve())
    return name_or_path


def get_space(name_or_path: str) -> Space:
    """The space registered under `name_or_path`, or the one defined in that Python file."""
    if _is_path(name_or_path):
        return _load_file(Path(name_or_path).expanduser())
    spaces = registered()
    if name_or_path not in spaces:
        allowed = ", ".join(sorted(spaces))
        raise UserError(
            f"unknown space {name_or_path!r}; allowed: {allowed}, or a path to a .py file"
        )
    return spaces[name_or_path]
