"""Where a command writes: checked before any work, so a bad path fails in a second, not after.

`os.access` answers for the real user id and is wrong for root and for /proc-like filesystems;
creating (and at once removing) a file there is the one test that cannot be wrong.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterable
from pathlib import Path

from errors import UserError

__all__ = ["EVALUATION_FILES", "output_dir", "output_file", "to_json"]

# what `search evaluate` writes, by default into the run's directory: stale, with the files of
# a run, once a new training of that directory replaces its model (`trainers.retrain`)
EVALUATION_FILES = ("confusion.png", "evaluation.json")


def _probe(folder: Path, option: str, path: Path, allowed: str) -> None:
    """UserError unless a file can be created in `folder`."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as err:
        raise UserError(
            f"{option} {path}: cannot write there ({err.strerror}); {allowed}"
        ) from None


def output_dir(path: Path, names: Iterable[str], option: str) -> Path:
    """Create directory `path` if need be and check that the files `names` can be written in it;
    UserError naming `option` otherwise."""
    allowed = "allowed: a directory you can write to"
    if path.exists() and not path.is_dir():
        raise UserError(f"{option} {path}: is a file; {allowed}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise UserError(f"{option} {path}: cannot create it ({reason}); {allowed}") from None
    for name in names:
        if (path / name).is_dir():
            raise UserError(f"{option} {path}: {path / name} is a directory, where the file "
                            f"{name} goes; allowed: a directory without it")  # fmt: skip
        _overwritable(path / name, option, path, allowed)
    _probe(path, option, path, allowed)
    return path


def _overwritable(file: Path, option: str, path: Path, allowed: str) -> None:
    """UserError if `file` is there and cannot be written (read-only, immutable): found now,
    not after the minutes of work that would have replaced it. Opened to append, it is left
    as it was."""
    if not file.exists():
        return
    try:
        with file.open("ab"):
            pass
    except OSError as err:
        raise UserError(
            f"{option} {path}: cannot overwrite {file} ({err.strerror}); {allowed}"
        ) from None


def output_file(path: Path, option: str) -> Path:
    """Check that file `path` can be written (its directory exists; it is no directory itself);
    UserError naming `option` otherwise."""
    allowed = "allowed: a file in an existing directory you can write to"
    if path.is_dir():
        raise UserError(f"{option} {path}: is a directory; {allowed}")
    folder = path.parent
    if not folder.is_dir():
        problem = "is not a directory" if folder.exists() else "does not exist"
        raise UserError(f"{option} {path}: its directory {folder} {problem}; {allowed}")
    _probe(folder, option, path, allowed)
    return path


def to_json(document: object) -> str:
    """`document` as indented JSON that any parser reads: NaN and infinities (no validation
    images, a speed not measured) as null, where Python's json would write NaN."""
    return json.dumps(_finite(document), indent=2, allow_nan=False) + "\n"


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
