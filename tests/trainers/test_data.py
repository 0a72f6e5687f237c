import pytest
import torch

from errors import UserError
from trainers import AugmentConfig, DataConfig
from trainers.data import Batches, load_cifar10, split


def test_reads_a_standard_folder_or_its_parent_without_md5(fake_cifar):
    data = load_cifar10(fake_cifar)
    assert data.train_images.shape == (50_000, 3, 32, 32)
    assert data.train_images.dtype == torch.uint8
    assert data.test_labels.shape == (10_000,)
    same = load_cifar10(fake_cifar / "cifar-10-batches-py")
    assert torch.equal(same.test_images, data.test_images)


def test_a_folder_without_cifar_names_what_is_allowed(tmp_path):
    with pytest.raises(UserError, match="no CIFAR-10 there; allowed: a standard"):
        load_cifar10(tmp_path)


def test_split_holds_out_the_same_disjoint_images_whatever_the_subset(fake_cifar):
    data = load_cifar10(fake_cifar)
    full = split(data, DataConfig(val_size=5000))
    small = split(data, DataConfig(val_size=5000, train_subset=300))
    assert len(full.train_labels) == 45_000 and len(small.train_labels) == 300
    assert torch.equal(full.val_images, small.val_images)
    train_rows = {bytes(x.flatten()[:64].tolist()) for x in full.train_images[:2000]}
    assert not train_rows & {bytes(x.flatten()[:64].tolist()) for x in full.val_images}
    with pytest.raises(UserError, match=r"data\.train_subset must be 0 \(all\) to 45,000"):
        DataConfig(val_size=5000, train_subset=45_001)


def test_batches_cover_an_epoch_normalized_and_channels_last():
    images = torch.randint(0, 256, (100, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(100) % 10
    batches = Batches(images, labels, 32, AugmentConfig(), seed=0)
    out = list(batches)
    assert len(out) == len(batches) == 3  # the partial last batch is dropped
    x, y = out[0]
    assert x.dtype == torch.float32 and x.shape == (32, 3, 32, 32)
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert abs(x.mean().item()) < 0.5
    assert y.dtype == torch.int64


def test_crop_shifts_each_image_within_the_padding_and_flip_mirrors():
    image = torch.arange(32 * 32, dtype=torch.float32).view(1, 1, 32, 32).repeat(64, 3, 1, 1)
    batches = Batches(
        image.to(torch.uint8),
        torch.zeros(64, dtype=torch.int64),
        64,
        AugmentConfig(crop_padding=4, flip=False),
        seed=0,
    )
    cropped = batches._crop(torch.arange(32 * 32).view(1, 1, 32, 32).repeat(64, 3, 1, 1), 4)
    assert cropped.shape == (64, 3, 32, 32)
    centre = cropped[:, 0, 16, 16]  # the original value 16*32+16, moved by at most 4 px each way
    offsets = {(int(v) // 32 - 16, int(v) % 32 - 16) for v in centre}
    assert len(offsets) > 10 and all(abs(a) <= 4 and abs(b) <= 4 for a, b in offsets)
    flip_only = Batches(
        image.to(torch.uint8),
        torch.zeros(64, dtype=torch.int64),
        64,
        AugmentConfig(crop_padding=0, flip=True),
        seed=0,
    )
    x, _ = next(iter(flip_only))
    mirrored = torch.isclose(x[:, 0, 0, 0], x[:, 0, 0, :].max(dim=1).values)
    assert 10 < mirrored.sum() < 54  # about half the images flipped


def test_cutmix_gives_soft_targets_that_sum_to_one():
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(64) % 10
    batches = Batches(images, labels, 64, AugmentConfig(cutmix_prob=1.0), seed=0)
    torch.manual_seed(0)
    _, targets = next(iter(batches))
    assert targets.shape == (64, 10)
    assert torch.allclose(targets.sum(1), torch.ones(64))
    assert (targets.max(1).values < 1).any()
