"""Models, data and training: CIFAR ResNets trained from a config, knowing nothing of the search."""

from trainers.config import (
    AugmentConfig,
    DataConfig,
    ModelConfig,
    OptimConfig,
    ScheduleConfig,
    TrainConfig,
    load_config,
)
from trainers.device import autocast_dtype, describe_device, resolve_device
from trainers.policies import Policy
from trainers.resnet import ResNet, build_model, count_params, param_counts
from trainers.train import Metrics, Report, train

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
