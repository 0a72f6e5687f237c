"""CIFAR-10 as uint8 tensors on the device, split, and batches augmented a whole batch at a time.

The images never leave the device and no Python runs per image (airbench's loader): shuffling,
TrivialAugment or RandAugment (`trainers.policies`), random crops, flips, CutMix and MixUp are
tensor operations on a batch.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.transforms import v2

from errors import UserError
from trainers import safe_pickle
from trainers.config import NUM_CLASSES, AugmentConfig, DataConfig
from trainers.policies import Policy

__all__ = [
    "CLASSES",
    "Batches",
    "Cifar10",
    "Split",
    "default_data_dir",
    "find_cifar10",
    "load_cifar10",
    "mixup",
    "normalize",
    "split",
]

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
MEAN = (0.4914, 0.4822, 0.4465)  # per-channel mean of the training images, in [0, 1] units
STD = (0.2470, 0.2435, 0.2616)  # per-channel standard deviation, same units
FOLDER = "cifar-10-batches-py"
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]


def default_data_dir() -> Path:
    """Where CIFAR-10 is downloaded when no --data-dir is given: $SEARCH_DATA_DIR or a cache."""
    return Path(os.environ.get("SEARCH_DATA_DIR", "~/.cache/search/cifar10")).expanduser()


@dataclass(frozen=True)
class Cifar10:
    """The 50,000 training and 10,000 test images, N x 3 x 32 x 32 uint8, labels int64."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor

    def to(self, device: torch.device) -> Cifar10:
        return Cifar10(*(t.to(device) for t in vars(self).values()))


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in [*TRAIN_FILES, "test_batch"])


def find_cifar10(data_dir: str | Path | None = None) -> Path:
    """The cifar-10-batches-py folder to read: given, cached, or downloaded into the cache."""
    if data_dir is not None:
        data_dir = Path(data_dir).expanduser()
        for candidate in (data_dir / FOLDER, data_dir):
            if _complete(candidate):
                return candidate
        raise UserError(
            f"--data-dir {data_dir}: no CIFAR-10 there; allowed: a standard {FOLDER} folder "
            "(data_batch_1..5, test_batch) or its parent"
        )
    cache = default_data_dir()
    if not _complete(cache / FOLDER):
        from torchvision.datasets import CIFAR10

        try:
            CIFAR10(str(cache), train=True, download=True)  # checks the official md5 sums
        except (OSError, RuntimeError) as err:
            raise UserError(
                f"cannot download CIFAR-10 into {cache} ({err}); pass --data-dir with a "
                f"{FOLDER} folder"
            ) from None
    return cache / FOLDER


def _read_batches(
    folder: Path, names: list[str], read: Callable[[], None]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The images and labels of the named files, calling `read()` after each."""
    images, labels = [], []
    for name in names:
        what = f"{folder / name}: not a CIFAR-10 batch file"
        batch = safe_pickle.load(folder / name, what)  # a pickle there runs no code
        if not (isinstance(batch, dict) and b"data" in batch and b"labels" in batch):
            raise UserError(f"{what} (no b'data' and b'labels' in it)")
        try:
            images.append(torch.frombuffer(bytearray(batch[b"data"]), dtype=torch.uint8))
            labels.extend(batch[b"labels"])
        except (TypeError, ValueError) as err:
            raise UserError(f"{what} ({err})") from None
        read()
    return torch.cat(images).view(-1, 3, 32, 32), torch.tensor(labels, dtype=torch.int64)


_loaded: dict[tuple[Path, torch.device], Cifar10] = {}  # the last copy read: folder, device


def load_cifar10(
    data_dir: str | Path | None = None,
    device: torch.device | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Cifar10:
    """CIFAR-10 read without md5 checks from `data_dir`, or from (downloaded into) the cache.

    Kept per process, so the trials of one worker read the files once; a read reports
    `progress(files done, files + 1)` as it goes, the last step the copy to the device.
    """
    key = (find_cifar10(data_dir).resolve(), device or torch.device("cpu"))
    if key not in _loaded:
        report = progress or (lambda done, total: None)
        steps, done = len(TRAIN_FILES) + 2, itertools.count(1)  # each file, then the copy
        report(0, steps)
        train = _read_batches(key[0], TRAIN_FILES, lambda: report(next(done), steps))
        test = _read_batches(key[0], ["test_batch"], lambda: report(next(done), steps))
        _loaded.clear()  # one copy at a time: on a GPU the last one holds 180 MB of its memory
        _loaded[key] = Cifar10(*train, *test).to(key[1])
        report(steps, steps)
    return _loaded[key]


@dataclass(frozen=True)
class Split:
    """Training and validation images (uint8, on the data's device) drawn from the train set."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor


def split(data: Cifar10, cfg: DataConfig) -> Split:
    """Hold out `cfg.val_size` training images (same ones for every trial of a split seed), or
    with `cfg.merge_val` train on them too and validate on none."""
    n = len(data.train_labels)  # DataConfig keeps val_size + train_subset within it
    order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.split_seed))
    order = order.to(data.train_labels.device)
    val, train = order[: cfg.val_size], order[cfg.val_size :]
    if cfg.merge_val:
        val, train = order[:0], torch.cat([train, val])  # the split's order, held-out ones last
    if cfg.train_subset:
        train = train[: cfg.train_subset]
    images, labels = data.train_images, data.train_labels
    return Split(images[train], labels[train], images[val], labels[val])


@functools.cache
def _scale_shift(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """x * scale + shift standardizes uint8 pixels; made once per device (no copy per batch)."""
    std = torch.tensor(STD, device=device).view(1, 3, 1, 1)
    mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1)
    return 1.0 / (255.0 * std), -mean / std


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 images to standardized float32, channels_last."""
    scale, shift = _scale_shift(images.device)
    x = images.to(memory_format=torch.channels_last).float()
    return torch.addcmul(shift, x, scale)


def mixup(images: torch.Tensor, labels: torch.Tensor, lam: float) -> tuple[torch.Tensor, ...]:
    """MixUp (Zhang et al. 2018) as torchvision's: each image blended with the one before it in
    the batch, `lam` of its own and 1 - `lam` of its neighbour's; the targets are the same
    mixture of the two one-hot labels (float32 rows that sum to 1)."""
    one_hot = F.one_hot(labels, NUM_CLASSES).float()
    mixed = torch.lerp(images.roll(1, 0), images, lam)  # lam * own + (1 - lam) * neighbour's
    targets = torch.lerp(one_hot.roll(1, 0), one_hot, lam)
    return mixed.contiguous(memory_format=torch.channels_last), targets


class Batches:
    """One epoch at a time of shuffled, augmented, normalized batches from device-resident images.

    Yields (images, targets): targets are class indices, or class probabilities for a batch that
    CutMix or MixUp mixed. A final partial batch is dropped unless it is the only one.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        augment: AugmentConfig,
        seed: int,
    ) -> None:
        self.images, self.labels = images, labels
        self.batch_size = batch_size
        self.augment = augment
        self.generator = torch.Generator(device=images.device).manual_seed(seed)
        self.cutmix = v2.CutMix(alpha=augment.cutmix_alpha, num_classes=NUM_CLASSES)
        alpha = torch.tensor(augment.mixup_alpha)
        self.mixup_weight = torch.distributions.Beta(alpha, alpha)  # lam ~ Beta(alpha, alpha)
        self.policy = None
        if augment.policy != "none":
            self.policy = Policy(
                augment.policy, augment.randaugment_ops, augment.randaugment_magnitude
            )

    def __len__(self) -> int:
        return max(1, len(self.labels) // self.batch_size)

    @property
    def epoch_images(self) -> int:
        """Images one epoch trains on."""
        return min(len(self.labels), len(self) * self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.labels)
        order = torch.randperm(n, device=self.images.device, generator=self.generator)
        for i in range(len(self)):
            index = order[i * self.batch_size : (i + 1) * self.batch_size]
            yield self.augmented(self.images[index], self.labels[index])

    def augmented(
        self, images: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A training batch through the policy, crop, flip, then CutMix or MixUp; normalized."""
        if self.policy is not None:
            images = self.policy(images)
        if self.augment.crop_padding:
            images = self._crop(images, self.augment.crop_padding)
        if self.augment.flip:
            flip = torch.rand(len(images), device=images.device, generator=self.generator) < 0.5
            images = torch.where(flip.view(-1, 1, 1, 1), images.flip(3), images)
        mix, targets = self.mix_choice(), labels
        if mix == "cutmix":
            images, targets = self.cutmix(images, labels)
        if mix == "mixup":  # on the standardized floats: the same blend, without uint8 rounding
            return mixup(normalize(images), labels, float(self.mixup_weight.sample()))
        return normalize(images), targets

    def mix_choice(self) -> str | None:
        """The next batch's mix: "cutmix" with probability cutmix_prob, "mixup" with mixup_prob,
        else None; by one uniform draw on the CPU (no device sync), none when it is certain."""
        cut, mix = self.augment.cutmix_prob, self.augment.mixup_prob
        if cut + mix <= 0 or cut >= 1 or mix >= 1:
            return "cutmix" if cut >= 1 else "mixup" if mix >= 1 else None
        u = torch.rand(()).item()
        return "cutmix" if u < cut else "mixup" if u < cut + mix else None

    def _crop(self, images: torch.Tensor, pad: int) -> torch.Tensor:
        """A random 32x32 window of each zero-padded image, by one gather for the batch."""
        b, c, h, w = images.shape
        padded = F.pad(images, (pad, pad, pad, pad))
        device = images.device
        dy, dx = torch.randint(0, 2 * pad + 1, (2, b, 1), device=device, generator=self.generator)
        rows = (dy + torch.arange(h, device=device)).view(b, 1, h, 1)
        cols = (dx + torch.arange(w, device=device)).view(b, 1, 1, w)
        batch = torch.arange(b, device=device).view(b, 1, 1, 1)
        channel = torch.arange(c, device=device).view(1, c, 1, 1)
        return padded[batch, channel, rows, cols]
