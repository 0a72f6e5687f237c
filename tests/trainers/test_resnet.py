import random

import pytest
import torch

from trainers import ModelConfig, build_model, count_params, param_counts


def numel(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def random_config(rng: random.Random) -> ModelConfig:
    stages = rng.randint(2, 5)
    return ModelConfig(
        stem_width=rng.randint(1, 96),
        depths=tuple(rng.randint(1, 4) for _ in range(stages)),
        widths=tuple(rng.randint(1, 160) for _ in range(stages)),
        block=rng.choice(["basic", "preact"]),
        se_ratio=rng.choice([0.0, 0.05, 0.125, 0.25, 1.0]),
        dropout=rng.choice([0.0, 0.2]),
    )


def test_resnet18_for_cifar_has_11_173_962_parameters():
    cfg = ModelConfig(stem_width=64, depths=(2, 2, 2, 2), widths=(64, 128, 256, 512))
    assert count_params(cfg) == 11_173_962
    assert numel(build_model(cfg)) == 11_173_962


@pytest.mark.parametrize("seed", range(4))
def test_count_is_exact_over_random_configs(seed):
    rng = random.Random(seed)
    for _ in range(60):
        cfg = random_config(rng)
        assert count_params(cfg) == numel(build_model(cfg, "meta")), cfg


def test_parts_sum_to_the_count_and_name_every_stage():
    cfg = ModelConfig(depths=(1, 2, 3), widths=(8, 16, 32), stem_width=8, se_ratio=0.25)
    parts = param_counts(cfg)
    assert list(parts) == ["stem", "stage1", "stage2", "stage3", "head"]
    assert sum(parts.values()) == count_params(cfg)
    model = build_model(cfg, "meta")
    assert parts["stage2"] == numel(model.stages[1])
    assert parts["stem"] == numel(model.stem)


@pytest.mark.parametrize("block", ["basic", "preact"])
@pytest.mark.parametrize("stages", [2, 3, 4, 5])
def test_forward_halves_resolution_per_stage_and_gives_logits(block, stages):
    cfg = ModelConfig(
        stem_width=8,
        depths=(1,) * stages,
        widths=(8,) * stages,
        block=block,
        se_ratio=0.25,
        dropout=0.1,
    )
    model = build_model(cfg).eval()
    x = torch.randn(2, 3, 32, 32)
    features = model.stages(model.stem(x))
    assert features.shape[-1] == 32 // 2 ** (stages - 1)
    assert model(x).shape == (2, 10)


def test_projection_shortcut_only_where_shape_changes():
    model = build_model(ModelConfig(stem_width=16, depths=(2, 2), widths=(16, 32)))
    first, second = model.stages[0], model.stages[1]
    assert isinstance(first[0].shortcut, torch.nn.Identity)  # 16 -> 16, stride 1
    assert isinstance(second[0].shortcut, torch.nn.Sequential)  # 16 -> 32, stride 2
    assert second[0].conv1.stride == (2, 2)
    assert isinstance(second[1].shortcut, torch.nn.Identity)
