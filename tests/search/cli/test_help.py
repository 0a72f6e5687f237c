"""Every command's --help as a person reads it: no stray space before punctuation, no value type
on an on/off flag, arguments in capitals on the usage line, and a default stated for every option
that takes a value (or [required])."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from search.fidelity import default_fidelity

ROOT = Path(__file__).resolve().parents[3]  # this checkout, whatever the environment installed
COMMANDS = ["run", "status", "export", "params", "dashboard", "report", "train", "evaluate",
            "predict", "spaces", "zoo"]  # fmt: skip


def help_text(*command: str) -> str:
    """`search COMMAND --help` as printed, wide enough that no row wraps."""
    env = {**os.environ, "COLUMNS": "400", "TERMINAL_WIDTH": "400", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "search", *command, "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def option_rows(text: str) -> list[str]:
    """The rows of the Options and Arguments panels, one per parameter."""
    rows = [line.strip("│ ") for line in text.splitlines() if line.startswith("│")]
    return [row for row in rows if re.match(r"(\* +)?(--\w|\w+ +<)", row)]


def test_every_command_is_listed():
    top = help_text()
    assert all(f"│ {command} " in top for command in COMMANDS)


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)], ids=["search", *COMMANDS])
def test_help_reads_cleanly(command):
    text = help_text(*command)
    words = " ".join(text.replace("│", " ").split())
    stray = re.findall(r"\S+ [.,;:](?= |$)", words)  # "Study name ." : a default eaten
    assert not stray, stray
    assert "<bool>" not in text
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert "{" not in usage and "}" not in usage, usage
    rows = option_rows(text)
    assert rows, text
    for row in rows:
        flag = "<" not in row
        assert flag or "[default: " in row or "[required]" in row, row


def test_the_defaults_say_what_they_are():
    run = " ".join(help_text("run").split())
    assert "$SEARCH_STORAGE, else sqlite:///search.db, that is ./search.db]" in run
    cpu = default_fidelity(torch.device("cpu"))  # what a run on a CPU gets, said in --help
    gpu = default_fidelity(torch.device("cuda"))
    assert f"[default: {gpu.epochs} on a GPU, {cpu.epochs} on a CPU]" in run
    assert f"0 = all. [default: {gpu.train_subset} on a GPU, {cpu.train_subset} on a CPU]" in run
    assert f"validate. [default: {gpu.val_size} on a GPU, {cpu.val_size} on a CPU]" in run
    assert "Study name. [default: the space name]" in run
    assert "[default: none, random]" in run
    usage = help_text("train").splitlines()
    assert any("Usage: search train [OPTIONS] FILE" in line for line in usage)
