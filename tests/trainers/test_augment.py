"""MixUp, the CutMix/MixUp split, and the image policies, a whole batch at a time."""

import pytest
import torch

from trainers import AugmentConfig
from trainers.augment import POLICY_GROUPS, Mixer, make_policy
from trainers.data import Batches, normalize


def test_mixup_targets_are_convex_mixtures_of_two_one_hot_rows():
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(64) % 10
    batches = Batches(images, labels, 64, AugmentConfig(mixup_prob=1.0, crop_padding=0,
                                                       flip=False), seed=0)  # fmt: skip
    torch.manual_seed(0)
    order = torch.randperm(64, generator=torch.Generator().manual_seed(0))
    x, targets = next(iter(batches))
    assert targets.shape == (64, 10) and torch.allclose(targets.sum(1), torch.ones(64))
    lam = targets.max(1).values.min()  # every row mixes the same two weights
    assert 0 < 1 - lam < lam <= 1
    shuffled = labels[order]  # the batch as drawn, before mixing
    one_hot = torch.nn.functional.one_hot(shuffled, 10).float()
    i = next(i for i in range(64) if shuffled[i] != shuffled[i - 1])  # two different labels
    weight = targets[i, shuffled[i]]
    assert torch.allclose(targets, weight * one_hot + (1 - weight) * one_hot.roll(1, 0))
    drawn = normalize(images[order])
    assert torch.allclose(x, weight * drawn + (1 - weight) * drawn.roll(1, 0), atol=1e-4)


def test_each_batch_gets_cutmix_mixup_or_nothing_in_proportion():
    mixer = Mixer(AugmentConfig(cutmix_prob=0.3, mixup_prob=0.5))
    torch.manual_seed(0)
    drawn = [mixer.draw() for _ in range(4000)]
    assert drawn.count("cutmix") / 4000 == pytest.approx(0.3, abs=0.03)
    assert drawn.count("mixup") / 4000 == pytest.approx(0.5, abs=0.03)
    assert drawn.count("") / 4000 == pytest.approx(0.2, abs=0.03)
    assert {Mixer(AugmentConfig()).draw() for _ in range(20)} == {""}


@pytest.mark.parametrize("policy", ["trivialaugment", "randaugment"])
def test_policies_change_uint8_images_with_ops_that_differ_across_the_batch(policy):
    torch.manual_seed(0)
    images = torch.randint(0, 256, (128, 3, 32, 32), dtype=torch.uint8)
    apply = make_policy(AugmentConfig(policy=policy))
    out = apply(images)
    assert out.dtype == torch.uint8 and out.shape == images.shape
    changed = (out != images).flatten(1).float().mean(1)  # share of pixels changed per image
    assert (changed > 0).any()
    groups = [g.mean().item() for g in changed.tensor_split(POLICY_GROUPS)]
    assert len({round(g, 3) for g in groups}) > POLICY_GROUPS // 2  # not one op for all
    assert make_policy(AugmentConfig()) is None


def test_the_policy_changes_the_training_batches():
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(64) % 10
    plain = AugmentConfig(crop_padding=0, flip=False)
    augmented = AugmentConfig(crop_padding=0, flip=False, policy="trivialaugment")
    torch.manual_seed(1)
    x_plain, _ = next(iter(Batches(images, labels, 64, plain, seed=0)))
    torch.manual_seed(1)
    x_aug, _ = next(iter(Batches(images, labels, 64, augmented, seed=0)))
    assert not torch.equal(x_plain, x_aug)
