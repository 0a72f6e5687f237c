import os
import pickle
import shutil

import pytest
import torch
import torch.nn.functional as F

from errors import UserError
from trainers import AugmentConfig, DataConfig
from trainers.data import Batches, load_cifar10, mixup, normalize, split


def test_reads_a_standard_folder_or_its_parent_without_md5(fake_cifar):
    data = load_cifar10(fake_cifar)
    assert data.train_images.shape == (50_000, 3, 32, 32)
    assert data.train_images.dtype == torch.uint8
    assert data.test_labels.shape == (10_000,)
    same = load_cifar10(fake_cifar / "cifar-10-batches-py")
    assert torch.equal(same.test_images, data.test_images)


def test_a_read_reports_each_file_and_the_copy_then_a_second_load_reads_nothing(
    tmp_path, fake_cifar
):
    copy = shutil.copytree(fake_cifar, tmp_path / "copy")  # a place no test has read yet
    heard = []
    first = load_cifar10(copy, progress=lambda done, total: heard.append((done, total)))
    assert heard == [(done, 7) for done in range(8)]  # 6 files, then the copy to the device
    again = []
    assert load_cifar10(copy, progress=lambda *step: again.append(step)) is first
    assert again == []


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


def one_hot(labels):
    return F.one_hot(labels, 10).float()


def test_mixup_blends_each_image_with_its_neighbour_and_the_one_hot_targets_alike():
    x, labels = torch.randn(8, 3, 32, 32), torch.tensor([0, 1, 2, 3, 4, 5, 6, 9])
    mixed, targets = mixup(x, labels, 0.3)
    assert torch.allclose(mixed, 0.3 * x + 0.7 * x.roll(1, 0), atol=1e-6)
    assert torch.allclose(targets, 0.3 * one_hot(labels) + 0.7 * one_hot(labels.roll(1, 0)))
    assert torch.allclose(targets.sum(1), torch.ones(8))
    assert mixed.is_contiguous(memory_format=torch.channels_last)


def test_a_mixup_batch_gives_convex_mixtures_of_two_one_hot_labels():
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(64) % 10
    plain = AugmentConfig(crop_padding=0, flip=False, mixup_prob=1.0, mixup_alpha=0.4)
    batches = Batches(images, labels, 64, plain, seed=0)
    torch.manual_seed(0)
    x, targets = batches.augmented(images, labels)
    lam = targets[0, labels[0]].item()  # labels[0] (0) differs from its neighbour's (3)
    assert 0 < lam < 1 and lam != 0.5
    expected = lam * one_hot(labels) + (1 - lam) * one_hot(labels.roll(1, 0))
    assert torch.allclose(targets, expected) and torch.allclose(targets.sum(1), torch.ones(64))
    standard = normalize(images)
    assert torch.allclose(x, lam * standard + (1 - lam) * standard.roll(1, 0), atol=1e-5)
    lams = [batches.augmented(images, labels)[1][0, 0].item() for _ in range(200)]
    assert 0.35 < sum(lams) / 200 < 0.65 and min(lams) < 0.1 and max(lams) > 0.9  # Beta(.4, .4)


def test_a_batch_gets_cutmix_mixup_or_neither_by_one_draw():
    images = torch.zeros(8, 3, 32, 32, dtype=torch.uint8)
    split_config = AugmentConfig(cutmix_prob=0.3, mixup_prob=0.5)
    batches = Batches(images, torch.zeros(8, dtype=torch.int64), 8, split_config, seed=0)
    torch.manual_seed(0)
    choices = [batches.mix_choice() for _ in range(4000)]
    torch.manual_seed(0)
    draws = torch.rand(4000).tolist()  # the same uniform draws, one per batch
    assert choices == [
        "cutmix" if u < 0.3 else "mixup" if u < 0.8 else None for u in draws
    ]  # fmt: skip
    assert abs(choices.count("cutmix") / 4000 - 0.3) < 0.03
    assert abs(choices.count("mixup") / 4000 - 0.5) < 0.03
    certainties = [
        (AugmentConfig(cutmix_prob=1.0), "cutmix"),
        (AugmentConfig(mixup_prob=1.0), "mixup"),
        (AugmentConfig(), None),
    ]
    for config, always in certainties:
        certain = Batches(images, torch.zeros(8, dtype=torch.int64), 8, config, seed=0)
        state = torch.get_rng_state()
        assert {certain.mix_choice() for _ in range(50)} == {always}
        assert torch.equal(torch.get_rng_state(), state)  # no draw when the outcome is certain


def test_a_batch_file_that_names_code_is_refused_without_running_it(tmp_path, fake_cifar):
    copy = shutil.copytree(fake_cifar, tmp_path / "copy")
    ran = tmp_path / "ran"
    payload = (os.system, (f"touch {ran}",))  # what a hostile pickle's __reduce__ gives
    (copy / "cifar-10-batches-py" / "data_batch_3").write_bytes(pickle.dumps(_Reduce(payload)))
    with pytest.raises(UserError, match=r"data_batch_3: not a CIFAR-10 batch file: the pickle "
                                        r"names posix\.system, which is not loaded"):  # fmt: skip
        load_cifar10(copy)
    assert not ran.exists()
    (copy / "cifar-10-batches-py" / "data_batch_3").write_bytes(pickle.dumps({b"data": 1}))
    with pytest.raises(
        UserError, match=r"data_batch_3: not a CIFAR-10 batch file \(no b'data' and b'labels'"
    ):
        load_cifar10(copy)


class _Reduce:
    def __init__(self, reduced):
        self.reduced = reduced

    def __reduce__(self):
        return self.reduced
