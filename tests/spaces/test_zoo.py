"""The zoo: each published design counts exactly what its paper's model counts, is a value of
`resnet_budget`, and carries its paper's recipe."""

import pytest
import torch
from torch import nn

from spaces import ZOO, designs_within
from trainers import build_model, count_params

DESIGNS = {d.name: d for d in ZOO}
# He et al. 2016's CIFAR ResNets with option A shortcuts, as akamaster/pytorch_resnet_cifar10
# counts them
HE_COUNTS = {"ResNet-20": 269_722, "ResNet-32": 464_154, "ResNet-56": 853_018,
             "ResNet-110": 1_727_962}  # fmt: skip


def _bn_conv(c_in, c_out, stride=1):
    return [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out)]


class PostActBlock(nn.Module):
    """kuangliu/pytorch-cifar's BasicBlock: conv-BN-conv-BN, 1x1 conv + BN shortcut."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.body = nn.Sequential(*_bn_conv(c_in, c_out, stride), *_bn_conv(c_out, c_out))
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                          nn.BatchNorm2d(c_out))  # fmt: skip


class PreActBlockRef(nn.Module):
    """He et al. 2016 / WRN (xternalz/WideResNet-pytorch): BN-ReLU-conv-BN-ReLU-conv, a 1x1
    conv shortcut (no BN) where the shape changes."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(c_in), nn.BatchNorm2d(c_out)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Conv2d(c_in, c_out, 1, stride, bias=False)


def reference(block, stem, widths, depth, preact):
    """A reference network: stem conv (+BN unless pre-activation), stages, (final BN), FC."""
    layers = [nn.Conv2d(3, stem, 3, 1, 1, bias=False)] + ([] if preact else [nn.BatchNorm2d(stem)])
    c_in = stem
    for i, width in enumerate(widths):
        for j in range(depth):
            layers.append(block(c_in, width, 2 if i and not j else 1))
            c_in = width
    layers += [nn.BatchNorm2d(c_in)] if preact else []
    return nn.Sequential(*layers, nn.Linear(c_in, 10))


REFERENCES = {
    "WRN-16-2": lambda: reference(PreActBlockRef, 16, (32, 64, 128), 2, True),
    "WRN-40-1": lambda: reference(PreActBlockRef, 16, (16, 32, 64), 6, True),
    "WRN-16-4": lambda: reference(PreActBlockRef, 16, (64, 128, 256), 2, True),
    "WRN-28-2": lambda: reference(PreActBlockRef, 16, (32, 64, 128), 4, True),
    "ResNet-18/2": lambda: reference(PostActBlock, 32, (32, 64, 128, 256), 2, False),
    "PreAct-18/2": lambda: reference(PreActBlockRef, 32, (32, 64, 128, 256), 2, True),
    "ResNet-3x2-64": lambda: reference(PostActBlock, 64, (64, 128, 256), 2, False),
    "ResNet-3x3-64": lambda: reference(PostActBlock, 64, (64, 128, 256), 3, False),
    "ResNet-3x4-64": lambda: reference(PostActBlock, 64, (64, 128, 256), 4, False),
    "ResNet-3x5-64": lambda: reference(PostActBlock, 64, (64, 128, 256), 5, False),
    "PreAct-62": lambda: reference(PreActBlockRef, 32, (32, 64, 128), 10, True),
}


def numel(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_every_design_has_a_reference_count():
    assert set(DESIGNS) == set(HE_COUNTS) | set(REFERENCES)


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_each_design_counts_exactly_what_its_paper_counts(name):
    design = DESIGNS[name]
    expected = HE_COUNTS[name] if name in HE_COUNTS else numel(REFERENCES[name]())
    assert design.n_params == count_params(design.model) == expected
    with torch.device("meta"):
        assert numel(build_model(design.model, "meta")) == expected


@pytest.mark.parametrize("budget", [1_000_000, 5_000_000, 20_000_000])
def test_each_design_within_budget_is_a_value_of_resnet_budget(budget):
    fit, others = designs_within(budget)
    assert fit and set(fit) | set(others) == set(ZOO)
    for design in fit:
        params = design.trial_params(budget)
        assert 0.05 <= params["budget_fraction"] <= 1.0
        assert design.config(budget).model == design.model
    for design in others:
        assert design.n_params > budget or design.n_params < 0.05 * budget


def names(designs):
    return [d.name for d in designs]


def test_designs_within_1m_and_5m_fewest_blocks_first():
    at_1m = ["WRN-16-2", "ResNet-20", "ResNet-32", "WRN-40-1", "ResNet-56"]
    assert names(designs_within(1_000_000)[0]) == at_1m
    assert [DESIGNS[n].blocks for n in at_1m] == [6, 9, 15, 18, 27]
    at_5m = designs_within(5_000_000)[0]
    assert names(at_5m)[:3] == ["WRN-16-2", "WRN-16-4", "ResNet-3x2-64"]  # ties: zoo's order
    assert names(at_5m)[-1] == "ResNet-110" and "PreAct-62" in names(at_5m)
    assert [d.blocks for d in at_5m] == sorted(d.blocks for d in at_5m)
    assert "ResNet-3x4-64" not in at_5m  # 5.9M
    assert "ResNet-20" not in names(designs_within(10_000_000)[0])  # under 5% of it


def test_the_recipes_are_the_papers():
    he = DESIGNS["ResNet-56"].config()
    assert he.model.shortcut == "pad" and he.model.block == "basic"
    assert (he.optim.optimizer, he.optim.lr, he.optim.nesterov, he.optim.weight_decay) == (
        "sgd", 0.1, False, 1e-4)  # fmt: skip
    schedule = he.schedule
    assert (schedule.name, schedule.milestones, schedule.gamma) == ("step", (0.5, 0.75), 0.1)
    wrn = DESIGNS["WRN-16-4"].config()
    assert wrn.model.block == "preact" and wrn.model.stem_width == 16
    assert wrn.optim.nesterov and wrn.optim.weight_decay == 5e-4
    assert (wrn.schedule.milestones, wrn.schedule.gamma) == ((0.3, 0.6, 0.8), 0.2)
    report = DESIGNS["PreAct-62"].config()
    assert report.augment.policy == "randaugment" and report.optim.label_smoothing == 0.1
    assert report.augment.cutmix_prob == report.augment.mixup_prob == 0.5
    assert report.model.dropout > 0 and report.schedule.warmup > 0 and report.optim.nesterov
    for design in ZOO:
        assert design.config().optim.batch_size == 128
