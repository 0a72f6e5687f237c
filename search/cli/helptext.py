"""How every command's --help reads: help strings are plain text (a `[default: ...]` in one is
shown as written, not taken for Rich markup and dropped), on/off flags show no value type
(`--tta`, not `--tta <bool>`), and the usage line names arguments in capitals, as Click does
(`search train [OPTIONS] FILE`, not `{file}`)."""

from __future__ import annotations

from collections.abc import Iterable

import typer
from rich.markup import escape
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

__all__ = ["Command", "Group"]


def _plain(params: Iterable[object]) -> None:
    """Each parameter's help as plain text, and no value type for a flag."""
    for param in params:
        if isinstance(param, TyperOption | TyperArgument) and param.help:
            param.help = escape(param.help)
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""  # the type column shows the metavar when there is one


def _usage(piece: str, params: Iterable[object]) -> str:
    """A usage piece with a required argument's `{name}` as NAME."""
    names = {p.name for p in params if isinstance(p, TyperArgument)}
    inner = piece[1:-1]
    return inner.upper() if piece.startswith("{") and inner in names else piece


class _PlainHelp:
    """Plain help for a command's or a group's own parameters and its --help option."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        _plain(self.params)  # type: ignore[attr-defined]

    def get_help_option(self, ctx: typer.Context) -> TyperOption | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        _plain([option] if option is not None and option.metavar is None else [])
        return option


class Command(_PlainHelp, TyperCommand):
    """A subcommand whose help reads as the module says."""

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:
        return [_usage(piece, self.params) for piece in super().collect_usage_pieces(ctx)]


class Group(_PlainHelp, TyperGroup):
    """The `search` group: its own options read as the subcommands' do."""
