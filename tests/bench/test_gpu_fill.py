"""bench/gpu_fill.py's images/s table: on CUDA, each mode (marked `gpu`: skipped, saying so,
without CUDA), so that the GPU benchmark cannot rot between the sessions that have a GPU; and
on any device, a mode that fails costs its own cells, not the table."""

import argparse

import gpu_fill
import pytest
import torch

from trainers import ModelConfig

TINY = ModelConfig(16, (1, 1), (16, 32))


@pytest.mark.gpu
@pytest.mark.slow
def test_a_row_holds_images_per_s_for_each_mode_and_set_up_and_ratio_for_the_others(
    cifar_dir, monkeypatch
):
    monkeypatch.setenv("SEARCH_DATA_DIR", str(cifar_dir))
    row = gpu_fill.compare(TINY, 512, torch.device("cuda"))
    figures = row.replace(",", "").split()
    assert figures[0] == "512" and len(figures) == 1 + len(gpu_fill.MODES) + 2 * 2
    assert all(float(f) > 0 for f in figures[1 : 1 + len(gpu_fill.MODES)])  # images/s


@pytest.mark.slow
def test_a_mode_that_fails_is_marked_in_its_row_and_the_others_are_still_measured(
    cifar_dir, monkeypatch
):
    """On a CPU the graph step is refused (ConfigError): the row says so; eager is measured."""
    monkeypatch.setenv("SEARCH_DATA_DIR", str(cifar_dir))
    modes = ("eager", "graphs")  # compiling on a CPU: minutes
    row, why = gpu_fill.compare(TINY, 512, torch.device("cpu"), modes, images=1024).split("\n")
    batch, eager, graphs, *rest = row.replace(",", "").split()
    assert (batch, graphs, rest) == ("512", "failed", ["-", "-"]) and float(eager) > 0
    assert why.strip() == "graphs failed: --cuda-graphs on cpu; allowed: a CUDA device"


@pytest.mark.slow
def test_part_two_trains_the_trials_and_times_their_makespan(cifar_dir, monkeypatch, tmp_path):
    """The default sharing ("auto") runs here on a CPU, where no trial holds a GPU: the same
    `search run` the GPU settings run, so their accounting cannot rot."""
    monkeypatch.setenv("SEARCH_DATA_DIR", str(cifar_dir))
    args = argparse.Namespace(trials=2, epochs=1, train_subset=256, val_size=256, timeout=300)
    trained, seconds = gpu_fill.makespan("auto", args, tmp_path)
    assert trained == 2 and 0 < seconds < 300
