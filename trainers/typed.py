"""Frozen dataclasses checked against their type hints: plain dicts in, typed values out.

The config sections (`trainers.config`) call `coerce` from `__post_init__`, and `require` for
each range; `convert` builds a whole tree from nested dicts. Every error is one ConfigError
line naming the key (`model.widths[0]`) and what is allowed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
from typing import Any, Literal, get_args, get_origin, get_type_hints

from errors import ConfigError

__all__ = ["coerce", "convert", "require"]


def require(ok: bool, name: str, allowed: str, value: object) -> None:
    """ConfigError "`name` must be `allowed`, got `value`" unless `ok`."""
    if not ok:
        raise ConfigError(f"{name} must be {allowed}, got {value!r}")


def coerce(config: object, section: str) -> None:
    """Check every field of a config against its type hint (lists become tuples, ints floats)."""
    for name, hint in _hints(type(config)).items():
        value = convert(hint, getattr(config, name), _join(section, name))
        object.__setattr__(config, name, value)  # frozen: this is its construction


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def convert(tp: Any, value: object, where: str) -> Any:
    """Check `value` against the type hint `tp`, naming `where` and what is allowed on error."""
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where or 'config'} must be a mapping, got {value!r}")
        names = list(_hints(tp))
        unknown = [k for k in value if k not in names]
        if unknown:
            key = _join(where, unknown[0])
            raise ConfigError(f"unknown key {key!r}; allowed: {', '.join(names)}")
        return tp(**value)  # whose __post_init__ checks each value, naming it
    origin = get_origin(tp)
    if origin is Literal:
        if value not in get_args(tp):
            allowed = ", ".join(map(str, get_args(tp)))
            raise ConfigError(f"{where} must be one of {allowed}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        item = get_args(tp)[0]
        return tuple(convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    return _convert_scalar(tp, value, where)


def _convert_scalar(tp: type, value: object, where: str) -> Any:
    if tp is float and isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)  # YAML 1.1 reads 1e-4 (no dot) as a string
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
        str: isinstance(value, str),
    }[tp]
    if not ok:
        kind = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}[tp]
        raise ConfigError(f"{where} must be {kind}, got {value!r}")
    if tp is not float:
        return value
    try:
        number = float(value)
    except OverflowError:  # an integer beyond float's range
        raise ConfigError(f"{where} must be a finite number, got an integer over 1e308") from None
    if not math.isfinite(number):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    return number
