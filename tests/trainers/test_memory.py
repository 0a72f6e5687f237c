import pytest
import torch

from errors import ConfigError
from trainers import ModelConfig, OptimConfig, TrainConfig, build_model
from trainers.memory import available_bytes, check_fits, training_bytes

CONFIGS = [
    ModelConfig(),  # ResNet-18
    ModelConfig(block="preact", stem_width=16, depths=(1, 1), widths=(16, 32)),
    ModelConfig(stem_width=8, depths=(3, 1, 1, 1, 1), widths=(8, 8, 16, 16, 8), se_ratio=0.25),
]


def saved_bytes(model_config, batch, dtype):
    """Bytes autograd keeps for the backward pass of one training step, measured."""
    model = build_model(model_config).to(memory_format=torch.channels_last).train()
    storages = {}

    def pack(tensor):
        storages[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    x = torch.randn(batch, 3, 32, 32).to(memory_format=torch.channels_last)
    autocast = torch.autocast("cpu", dtype=dtype, enabled=dtype is not None)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), autocast:
        model(x)
    return sum(storages.values())


@pytest.mark.parametrize("dtype", [None, torch.bfloat16])
@pytest.mark.parametrize("model", CONFIGS, ids=["resnet18", "preact", "five-stages"])
def test_the_estimate_is_a_lower_bound_of_what_training_keeps(model, dtype):
    config = TrainConfig(model=model, optim=OptimConfig(batch_size=4))
    params, activations = training_bytes(config, dtype)
    n = sum(p.numel() for p in build_model(model).parameters())
    assert params == 3 * 4 * n  # weights, gradients, momentum in fp32
    measured = saved_bytes(model, 4, dtype)
    assert measured / 6 < activations <= measured  # a lower bound, and not a loose one


def test_a_moving_average_adds_a_copy_of_the_weights():
    plain, averaged = TrainConfig(), TrainConfig(ema=0.999)
    assert training_bytes(averaged, None)[0] == training_bytes(plain, None)[0] * 4 // 3


def test_adamw_keeps_two_moments_where_sgd_keeps_one_momentum():
    sgd, adamw = TrainConfig(), TrainConfig(optim=OptimConfig(optimizer="adamw"))
    assert training_bytes(adamw, None)[0] == training_bytes(sgd, None)[0] * 4 // 3


def test_resnet18_fits_and_a_model_of_terabytes_does_not():
    cpu = torch.device("cpu")
    assert available_bytes(cpu) > 10**9
    check_fits(TrainConfig(), cpu, None)
    wide = TrainConfig(model=ModelConfig(depths=(1, 1), widths=(100_000, 100_000)))
    with pytest.raises(ConfigError, match=r"model of [\d,]+ parameters needs ~[\d,]+ GB"):
        check_fits(wide, cpu, None)
