"""Batch augmentations beyond crop and flip, on the device, a whole batch at a time.

- An image policy (TrivialAugment Wide, Müller & Hutter 2021; RandAugment, Cubuk et al. 2020),
  with torchvision's v2 transforms on uint8 images. A v2 transform called on a batch applies one
  random op at one magnitude to every image in it; here the batch (already shuffled) is cut into
  `POLICY_GROUPS` groups and each group draws its own ops and magnitudes: 16 transform calls per
  batch, never one per image. Images of a group share their ops, which is the one departure
  from the papers' per-image draws.
- Batch mixing: CutMix (Yun et al. 2019) on the uint8 batch, or MixUp (Zhang et al. 2018) on
  the normalized one; targets become class probabilities, convex mixtures of two one-hot rows.
"""

from __future__ import annotations

import torch
from torchvision.transforms import v2

from trainers.config import NUM_CLASSES, AugmentConfig

__all__ = ["POLICY_GROUPS", "Mixer", "make_policy"]

POLICY_GROUPS = 16  # groups per batch that draw their own policy ops
Pair = tuple[torch.Tensor, torch.Tensor]  # images, and class indices or probabilities


def make_policy(augment: AugmentConfig) -> v2.Transform | None:
    """The batch policy the config asks for, or None."""
    if augment.policy == "trivialaugment":
        policy: v2.Transform = v2.TrivialAugmentWide()
    elif augment.policy == "randaugment":
        policy = v2.RandAugment(augment.randaugment_ops, augment.randaugment_magnitude)
    else:
        return None

    def grouped(images: torch.Tensor) -> torch.Tensor:
        return torch.cat([policy(group) for group in images.tensor_split(POLICY_GROUPS)])

    return v2.Lambda(grouped)


class Mixer:
    """Decides per batch whether to CutMix, MixUp or leave it (at most one), and does it."""

    def __init__(self, augment: AugmentConfig) -> None:
        self.cutmix_prob, self.mixup_prob = augment.cutmix_prob, augment.mixup_prob
        self.cutmix = v2.CutMix(alpha=augment.cutmix_alpha, num_classes=NUM_CLASSES)
        self.mixup = v2.MixUp(alpha=augment.mixup_alpha, num_classes=NUM_CLASSES)

    def draw(self) -> str:
        """ "cutmix", "mixup" or "" for the next batch (a CPU draw: no device sync)."""
        if self.cutmix_prob + self.mixup_prob <= 0:
            return ""
        u = torch.rand(()).item()
        if u < self.cutmix_prob:
            return "cutmix"
        return "mixup" if u < self.cutmix_prob + self.mixup_prob else ""

    def before_normalizing(self, how: str, images: torch.Tensor, labels: torch.Tensor) -> Pair:
        """CutMix pastes pixels: done on the uint8 batch."""
        return self.cutmix(images, labels) if how == "cutmix" else (images, labels)

    def after_normalizing(self, how: str, images: torch.Tensor, targets: torch.Tensor) -> Pair:
        """MixUp blends pixels: done on the float batch."""
        return self.mixup(images, targets) if how == "mixup" else (images, targets)
