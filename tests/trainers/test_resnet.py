import dataclasses
import random

import pytest
import torch

from errors import ConfigError
from trainers import ModelConfig, build_model, count_params, param_counts


def numel(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def random_config(rng: random.Random) -> ModelConfig:
    stages = rng.randint(2, 5)
    pad = rng.random() < 0.3
    widths = [rng.randint(1, 160) for _ in range(stages)]
    stem = rng.randint(1, 96)
    if pad:  # zero padding only adds channels
        widths = sorted(widths)
        stem = rng.randint(1, widths[0])
    return ModelConfig(
        stem_width=stem,
        depths=tuple(rng.randint(1, 4) for _ in range(stages)),
        widths=tuple(widths),
        block=rng.choice(["basic", "preact"]),
        se_ratio=rng.choice([0.0, 0.05, 0.125, 0.25, 1.0]),
        dropout=rng.choice([0.0, 0.2]),
        shortcut="pad" if pad else "projection",
        activation=rng.choice(["relu", "silu", "elu"]),
        stochastic_depth=rng.choice([0.0, 0.2]),
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


@pytest.mark.parametrize("block", ["basic", "preact"])
def test_pad_shortcuts_have_no_parameters_and_keep_shapes(block):
    cfg = ModelConfig(stem_width=16, depths=(2, 2, 2), widths=(16, 32, 64), block=block,
                      shortcut="pad")  # fmt: skip
    projection = dataclasses.replace(cfg, shortcut="projection")
    model = build_model(cfg)
    assert not any(isinstance(m, torch.nn.Conv2d) and m.kernel_size == (1, 1)
                   for m in model.modules())  # fmt: skip
    assert count_params(projection) > count_params(cfg) == numel(model)
    assert model(torch.randn(4, 3, 32, 32)).shape == (4, 10)
    shortcut = model.stages[1][0].shortcut
    x = torch.randn(2, 16, 32, 32)
    out = shortcut(x)
    assert out.shape == (2, 32, 16, 16)
    assert torch.equal(out[:, :16], x[:, :, ::2, ::2]) and not out[:, 16:].any()


def test_pad_shortcuts_need_widths_that_only_grow():
    with pytest.raises(ConfigError, match=r"model\.widths must be non-decreasing"):
        ModelConfig(stem_width=16, depths=(1, 1), widths=(32, 16), shortcut="pad")


@pytest.mark.parametrize("name, module", [("silu", torch.nn.SiLU), ("elu", torch.nn.ELU)])
def test_the_activation_is_used_everywhere(name, module):
    for block in ("basic", "preact"):
        cfg = ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16), block=block,
                          activation=name)  # fmt: skip
        model = build_model(cfg)
        kinds = {type(m) for m in model.modules()}
        assert module in kinds and torch.nn.ReLU not in kinds
        relu = build_model(dataclasses.replace(cfg, activation="relu"))
        relu.load_state_dict(model.state_dict())
        x = torch.randn(2, 3, 32, 32)
        assert not torch.allclose(model.eval()(x), relu.eval()(x))


def test_stochastic_depth_drops_branches_only_in_training_and_more_in_later_blocks():
    cfg = ModelConfig(stem_width=8, depths=(2, 2), widths=(8, 16), stochastic_depth=0.9)
    model, plain = build_model(cfg), build_model(dataclasses.replace(cfg, stochastic_depth=0.0))
    plain.load_state_dict(model.state_dict())
    drops = [b.drop_path for stage in model.stages for b in stage]
    assert drops == pytest.approx([0.225, 0.45, 0.675, 0.9])  # linear, the last one's is 0.9
    x = torch.randn(64, 3, 32, 32)
    model.eval(), plain.eval()
    assert torch.equal(model(x), plain(x))  # evaluation keeps every branch, unscaled
    block = model.stages[1][1]
    for m in model.modules():  # non-zero branches, so that a drop shows
        if isinstance(m, torch.nn.BatchNorm2d):
            torch.nn.init.ones_(m.weight)
    block.train()
    h = torch.randn(64, 16, 16, 16)
    torch.manual_seed(0)
    branch_dropped = [torch.equal(block(h)[i], torch.relu(h[i])) for i in range(64)]
    assert 40 < sum(branch_dropped) < 64  # about 90% of the images skip it
