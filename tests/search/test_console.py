"""What a long step shows where output is a log, not a terminal, and each epoch's line."""

from rich.console import Console

import search.console
from search.console import epoch_lines, epoch_progress, step


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


def test_a_slow_epoch_in_a_log_says_how_far_it_is_and_a_quick_one_says_nothing(monkeypatch):
    out = Console(record=True, force_terminal=False, width=200)
    monkeypatch.setattr(search.console, "console", out)
    with epoch_progress(3) as batches:
        for done in (100, 200, 300):
            batches(1, done, 300)  # an epoch quicker than the pause between lines
        assert out.export_text(clear=False) == ""
        monkeypatch.setattr(search.console, "SLOW_EPOCH_LINE_S", 0.0)
        batches(2, 100, 300)
        batches(2, 300, 300)  # its end: the epoch's own line says the rest
    assert out.export_text().splitlines() == ["epoch 2/3: 100 of 300 images"]


def test_an_epoch_bar_on_a_terminal_lives_for_its_epoch(monkeypatch):
    out = Console(record=True, force_terminal=True, width=200)
    monkeypatch.setattr(search.console, "console", out)
    with epoch_progress(2) as batches:
        batches(1, 150, 300)
        assert "epoch 1/2" in out.export_text()  # drawn as soon as it starts
        batches(1, 300, 300)
        batches(2, 150, 300)
        assert "epoch 2/2" in out.export_text()  # a bar of its own
        assert len(search.console.console._live_stack) == 1  # rich's: epoch 1's has stopped
    assert search.console.console._live_stack == []  # rich's: no bar left running


def test_each_epoch_says_its_figures_and_a_replayed_one_says_where_it_came_from(monkeypatch):
    out = Console(record=True, force_terminal=False, width=200)
    monkeypatch.setattr(search.console, "console", out)
    report = epoch_lines(3)
    report(1, 0.5, train_loss=1.25, val_loss=1.5)  # replayed: no images/s
    report(2, float("nan"), images_per_s=1234.4, train_loss=0.75)  # nothing held out
    first, second = out.export_text().splitlines()
    assert first == "epoch 1/3  train loss 1.2500  val acc 0.5000  (from the checkpoint)"
    assert second.startswith("epoch 2/3  train loss 0.7500  1,234 img/s  0:00:0")
    assert second.endswith(" left") and "val acc" not in second
