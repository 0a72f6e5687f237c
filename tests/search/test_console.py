"""What a long step shows where output is a log, not a terminal."""

from rich.console import Console

import search.console
from search.console import step


def test_a_step_in_a_log_says_when_it_starts_and_how_long_it_took(monkeypatch):
    out = Console(record=True, force_terminal=False, width=200)
    monkeypatch.setattr(search.console, "console", out)
    with step("scoring the test set") as progress:
        assert out.export_text(clear=False) == ""  # its inputs are being checked
        progress(0, 10)
        progress(5, 10)
        assert out.export_text(clear=False) == "scoring the test set ...\n"
    lines = out.export_text().splitlines()
    assert lines[-1].startswith("scoring the test set: done in ") and lines[-1].endswith(" s")


def test_a_step_that_never_started_says_nothing(monkeypatch):
    out = Console(record=True, force_terminal=False, width=200)
    monkeypatch.setattr(search.console, "console", out)
    with step("scoring the test set"):
        pass  # its input was refused, say: the error is the one line
    assert out.export_text() == ""
