"""bench/gpu_fill.py's images/s table runs on CUDA, each mode, so that the GPU benchmark cannot
rot between the sessions that have a GPU (marked `gpu`: skipped, saying so, without CUDA)."""

import gpu_fill
import pytest
import torch

from trainers import ModelConfig

pytestmark = [pytest.mark.gpu, pytest.mark.slow]


def test_a_row_holds_images_per_s_for_each_mode_and_set_up_and_ratio_for_the_others(
    cifar_dir, monkeypatch
):
    monkeypatch.setenv("SEARCH_DATA_DIR", str(cifar_dir))
    row = gpu_fill.compare(ModelConfig(16, (1, 1), (16, 32)), 512, torch.device("cuda"))
    figures = row.replace(",", "").split()
    assert figures[0] == "512" and len(figures) == 1 + len(gpu_fill.MODES) + 2 * 2
    assert all(float(f) > 0 for f in figures[1 : 1 + len(gpu_fill.MODES)])  # images/s
