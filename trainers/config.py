"""The training configuration: a frozen, typed dataclass tree, the whole effective config of a run.

Every field has a unit and a default. A config round-trips through plain dicts (`to_dict`,
`from_dict`), which is how it is stored with each trial and written by `search export`; reading
one back checks every key and type and names the bad one.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

from errors import ConfigError
from trainers.typed import coerce as _coerce
from trainers.typed import convert as _convert
from trainers.typed import require as _require

__all__ = [
    "NUM_CLASSES",
    "TRAIN_IMAGES",
    "AugmentConfig",
    "DataConfig",
    "ModelConfig",
    "OptimConfig",
    "ScheduleConfig",
    "TrainConfig",
]


NUM_CLASSES = 10  # CIFAR-10
TRAIN_IMAGES = 50_000  # images in CIFAR-10's training set, validation split included
# `search train`'s default length, whatever the config says (a search's trials train a few
# epochs): published CIFAR recipes train 150-300 (He et al. 2016 ~180, Zagoruyko & Komodakis 200)
RETRAIN_EPOCHS = 200
MAX_EPOCHS = 10_000  # the longest published CIFAR schedules are a few thousand epochs
MAX_SEED = 2**32 - 1
MAX_DEPTH = 200  # blocks per stage: ResNet-1202, the deepest CIFAR ResNet (He et al. 2015)
MAX_LR = 10.0  # CIFAR ResNets train at 0.01 to 3 (super-convergence, Smith & Topin 2017)
MAX_DECAY = 1.0  # used: 1e-5 to 5e-3; lr * weight_decay > 2 diverges outright


@dataclass(frozen=True)
class ModelConfig:
    """A CIFAR ResNet: 3x3 stem, stages of residual blocks, global average pool, linear head.

    Every stage after the first starts with a stride-2 block; a block whose input and output
    shapes differ has a 1x1 convolution projection shortcut, or with `shortcut="pad"` He et
    al.'s parameter-free option A. The defaults are ResNet-18.
    """

    stem_width: int = 64  # output channels of the 3x3 stem convolution
    depths: tuple[int, ...] = (2, 2, 2, 2)  # residual blocks per stage, 2 to 5 stages
    widths: tuple[int, ...] = (64, 128, 256, 512)  # output channels of each stage
    block: Literal["basic", "preact"] = "basic"  # post-activation (He 2015) or pre-act (He 2016)
    se_ratio: float = 0.0  # squeeze-and-excitation hidden width / block width; 0 = no SE
    dropout: float = 0.0  # dropout probability between the two convolutions of each block
    shortcut: Literal["projection", "pad"] = "projection"  # where a block's shape changes:
    # a 1x1 convolution (+ BN in basic blocks), or the input subsampled by the stride with zeros
    # for the new channels, no parameters (He et al. 2016 "option A"; widths must not shrink)
    activation: Literal["relu", "silu", "elu"] = "relu"  # every nonlinearity of stem, blocks
    # and the pre-activation net's final norm (not the squeeze-and-excitation's inner ReLU)
    stochastic_depth: float = 0.0  # probability of dropping the last block's residual branch
    # per image in training; block l of L drops with l/L of it (Huang et al. 2016); 0 = off

    def __post_init__(self) -> None:
        _coerce(self, "model")
        _require(2 <= len(self.depths) <= 5, "model.depths", "a list of 2 to 5 stages", self.depths)
        _require(
            len(self.widths) == len(self.depths),
            "model.widths",
            f"one width per stage ({len(self.depths)} stages)",
            self.widths,
        )
        deep = all(1 <= d <= MAX_DEPTH for d in self.depths)
        _require(deep, "model.depths", f"integers 1 to {MAX_DEPTH} per stage", self.depths)
        _require(all(w >= 1 for w in self.widths), "model.widths", "integers >= 1", self.widths)
        _require(self.stem_width >= 1, "model.stem_width", "an integer >= 1", self.stem_width)
        _require(0.0 <= self.se_ratio <= 1.0, "model.se_ratio", "in [0, 1]", self.se_ratio)
        _require(0.0 <= self.dropout < 1.0, "model.dropout", "in [0, 1)", self.dropout)
        depth = self.stochastic_depth
        _require(0.0 <= depth < 1.0, "model.stochastic_depth", "in [0, 1)", depth)
        chain = pairwise((self.stem_width, *self.widths))
        if self.shortcut == "pad" and any(after < before for before, after in chain):
            raise ConfigError(
                f"model.widths must not shrink (from model.stem_width {self.stem_width}) with "
                "model.shortcut pad, which only adds zero channels; allowed: non-decreasing "
                f"widths, or model.shortcut projection; got {self.widths!r}"
            )


@dataclass(frozen=True)
class OptimConfig:
    """SGD with (Nesterov) momentum or AdamW, and a label-smoothed cross-entropy."""

    lr: float = 0.1  # peak learning rate
    momentum: float = 0.9  # SGD momentum (AdamW ignores it: betas 0.9, 0.999)
    weight_decay: float = 5e-4  # on convolution and linear weights (not biases, norms): SGD's
    # L2 penalty, AdamW's decoupled decay (each step shrinks weights by lr * weight_decay)
    label_smoothing: float = 0.0  # probability mass spread over all classes, in [0, 1)
    batch_size: int = 128  # images per optimizer step
    optimizer: Literal["sgd", "adamw"] = "sgd"  # SGD with momentum, or AdamW (Loshchilov &
    # Hutter 2019)
    nesterov: bool = True  # SGD: Nesterov momentum, else classical (heavy ball); AdamW ignores it

    def __post_init__(self) -> None:
        _coerce(self, "optim")
        lr, decay = self.lr, self.weight_decay
        _require(0.0 < lr <= MAX_LR, "optim.lr", f"a positive number up to {MAX_LR:g}", lr)
        _require(0.0 < self.momentum < 1.0, "optim.momentum", "in (0, 1)", self.momentum)
        _require(0 <= decay <= MAX_DECAY, "optim.weight_decay", f"0 to {MAX_DECAY:g}", decay)
        _require(
            0.0 <= self.label_smoothing < 1.0,
            "optim.label_smoothing",
            "in [0, 1)",
            self.label_smoothing,
        )
        batch = self.batch_size
        _require(2 <= batch <= TRAIN_IMAGES, "optim.batch_size", "an integer 2 to 50,000", batch)


@dataclass(frozen=True)
class ScheduleConfig:
    """Learning-rate schedule, stepped every batch; lengths are fractions of the whole run."""

    name: Literal["cosine", "step", "onecycle"] = "cosine"
    warmup: float = 0.05  # cosine: fraction of steps with a linear warm-up from 0 to the peak
    milestones: tuple[float, ...] = (0.5, 0.75)  # step: fractions of the run where LR *= gamma
    gamma: float = 0.1  # step: factor applied to the LR at each milestone
    pct_start: float = 0.25  # onecycle: fraction of steps spent raising the LR to its peak

    def __post_init__(self) -> None:
        _coerce(self, "schedule")
        _require(0.0 <= self.warmup < 1.0, "schedule.warmup", "in [0, 1)", self.warmup)
        _require(
            all(0.0 < m < 1.0 for m in self.milestones),
            "schedule.milestones",
            "fractions in (0, 1)",
            self.milestones,
        )
        _require(0.0 < self.gamma <= 1.0, "schedule.gamma", "in (0, 1]", self.gamma)
        _require(0.0 < self.pct_start < 1.0, "schedule.pct_start", "in (0, 1)", self.pct_start)


@dataclass(frozen=True)
class AugmentConfig:
    """Batch augmentation on the device, in this order: a TrivialAugment or RandAugment policy,
    random crop, horizontal flip, then CutMix or MixUp (at most one per batch)."""

    crop_padding: int = 4  # pixels of zero padding around the random 32x32 crop; 0 = no crop
    flip: bool = True  # flip each image horizontally with probability 0.5
    cutmix_prob: float = 0.0  # probability that a batch is CutMix-ed
    cutmix_alpha: float = 1.0  # CutMix area ratio ~ Beta(alpha, alpha)
    mixup_prob: float = 0.0  # probability that a batch is MixUp-ed (never one CutMix-ed);
    # cutmix_prob + mixup_prob <= 1
    mixup_alpha: float = 1.0  # MixUp weight of each image ~ Beta(alpha, alpha)
    policy: Literal["none", "trivialaugment", "randaugment"] = "none"  # per-image random ops
    # (trainers/policies.py): TrivialAugment (Mueller & Hutter 2021) or RandAugment (Cubuk 2020)
    randaugment_ops: int = 2  # RandAugment: ops applied in turn to each image, 1 to 5
    randaugment_magnitude: int = 9  # RandAugment: strength of every op, 0 to 30 (of 31 bins)

    def __post_init__(self) -> None:
        _coerce(self, "augment")
        _require(0 <= self.crop_padding <= 16, "augment.crop_padding", "0 to 16", self.crop_padding)
        _require(
            0.0 <= self.cutmix_prob <= 1.0, "augment.cutmix_prob", "in [0, 1]", self.cutmix_prob
        )
        _require(self.cutmix_alpha > 0.0, "augment.cutmix_alpha", "> 0", self.cutmix_alpha)
        mix = self.mixup_prob
        _require(0.0 <= mix <= 1.0, "augment.mixup_prob", "in [0, 1]", mix)
        _require(self.mixup_alpha > 0.0, "augment.mixup_alpha", "> 0", self.mixup_alpha)
        if self.cutmix_prob + mix > 1.0 + 1e-9:
            raise ConfigError(
                "augment.cutmix_prob + augment.mixup_prob must be at most 1 (a batch gets at "
                f"most one of them), got {self.cutmix_prob!r} + {mix!r}"
            )
        ops, magnitude = self.randaugment_ops, self.randaugment_magnitude
        _require(1 <= ops <= 5, "augment.randaugment_ops", "1 to 5", ops)
        _require(0 <= magnitude <= 30, "augment.randaugment_magnitude", "0 to 30", magnitude)


@dataclass(frozen=True)
class DataConfig:
    """Which CIFAR-10 training images train and which validate; the test set is separate."""

    val_size: int = 5000  # training images held out for validation (the search's metric)
    train_subset: int = 0  # train on the first N of the other training images; 0 = all of them
    split_seed: int = 0  # seed of the shuffle that picks the validation images
    merge_val: bool = False  # train on the held-out images too (a final run: nothing validates)

    def __post_init__(self) -> None:
        _coerce(self, "data")
        _require(1 <= self.val_size < TRAIN_IMAGES, "data.val_size", "1 to 49,999", self.val_size)
        available = TRAIN_IMAGES if self.merge_val else TRAIN_IMAGES - self.val_size
        _require(
            0 <= self.train_subset <= available,
            "data.train_subset",
            f"0 (all) to {TRAIN_IMAGES:,}"
            if self.merge_val
            else f"0 (all) to {available:,} ({TRAIN_IMAGES:,} minus val_size)",
            self.train_subset,
        )
        seed = self.split_seed
        _require(0 <= seed <= MAX_SEED, "data.split_seed", "0 to 2**32-1", seed)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a trained model, save the device it runs on."""

    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    data: DataConfig = field(default_factory=DataConfig)
    epochs: int = 30  # passes over the training images
    seed: int = 0  # seeds weights, shuffling and augmentation
    ema: float = 0.0  # per-step decay of a moving average of the weights, evaluated and saved
    # instead of them (e.g. 0.999); 0 = off

    def __post_init__(self) -> None:
        _coerce(self, "")
        _require(1 <= self.epochs <= MAX_EPOCHS, "epochs", f"an integer 1 to {MAX_EPOCHS:,}",
                 self.epochs)  # fmt: skip
        _require(0.0 <= self.ema < 1.0, "ema", "0 (off) or a decay in (0, 1)", self.ema)
        _require(0 <= self.seed <= MAX_SEED, "seed", "0 to 2**32-1", self.seed)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict with lists for tuples, as JSON and YAML write it."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: object) -> TrainConfig:
        """Build a config from a nested dict; missing keys take defaults, unknown keys fail."""
        return _convert(cls, data, "")
