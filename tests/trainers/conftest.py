"""The trainers' tests' data: a small split of generated CIFAR-10 on each device."""

import pytest
import torch

from trainers import DataConfig
from trainers.data import Split, load_cifar10, split

SMALL = DataConfig(val_size=500, train_subset=640)  # 10 batches of 64 an epoch


@pytest.fixture(scope="module", params=["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def data(fake_cifar, request) -> Split:
    """SMALL on each device: what a test checks on the CPU it checks on CUDA too."""
    return split(load_cifar10(fake_cifar, torch.device(request.param)), SMALL)
