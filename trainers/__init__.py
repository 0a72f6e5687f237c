"""Models, data and training: CIFAR ResNets trained from a config, knowing nothing of the search.

The configs and the parameter count need no torch and load with the package; the names that do
(the model, the device, the trainer) load from their module on first use, so reading a config or
counting its model never imports torch.
"""

import importlib
from typing import Any

from trainers.config import (
    AugmentConfig,
    DataConfig,
    ModelConfig,
    OptimConfig,
    ScheduleConfig,
    TrainConfig,
)
from trainers.config_file import load_config
from trainers.counting import count_params, param_counts

__all__ = [
    "AugmentConfig",
    "DataConfig",
    "Metrics",
    "ModelConfig",
    "OptimConfig",
    "Policy",
    "Report",
    "ResNet",
    "ScheduleConfig",
    "TrainConfig",
    "autocast_dtype",
    "build_model",
    "count_params",
    "describe_device",
    "load_config",
    "param_counts",
    "resolve_device",
    "train",
]

_TORCH_NAMES = {  # name -> the module that defines it; each imports torch
    "autocast_dtype": "trainers.device",
    "describe_device": "trainers.device",
    "resolve_device": "trainers.device",
    "Policy": "trainers.policies",
    "ResNet": "trainers.resnet",
    "build_model": "trainers.resnet",
    "Metrics": "trainers.loop",
    "Report": "trainers.loop",
    "train": "trainers.loop",
}


def __getattr__(name: str) -> Any:
    """A torch-backed name, imported from its module when first asked for (PEP 562)."""
    if name not in _TORCH_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_TORCH_NAMES[name]), name)
    globals()[name] = value
    return value
