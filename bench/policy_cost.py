"""What augmenting one training batch costs, as a trial pays it, per augmentation setting.

`Batches.augmented` (policy, crop, flip, mix, normalization) on a batch already on the device,
for the default crop and flip, each policy and each mix: milliseconds per batch (the device
synchronized), the tensor ops it dispatches (host and device; on a GPU each device op is a
kernel launch, and at small batches launches, not arithmetic, bound the time) and, on CUDA, the
kernels it launched. Then each policy alone three ways: as trials apply it (`Policy`: each image
its own op and magnitude, a few batch calls); as it was applied before (each image its own op,
one torchvision call per (op, sign) group of the batch, a magnitude per group); and torchvision's
v2 TrivialAugmentWide or RandAugment called on the batch (one op and magnitude for ALL its
images: the floor a batch policy can reach). The rows take turns, round after round, and each
figure is the median of its rounds: the machine is shared and noisy.

    python bench/policy_cost.py [--device cuda] [--batches 64 128 512] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torchvision.transforms import v2

from trainers import AugmentConfig, Policy, resolve_device
from trainers.augment_ops import NAMES
from trainers.data import Batches

SETTINGS = {  # name -> the augmentation of a whole batch, as Batches.augmented applies it
    "crop + flip (default)": AugmentConfig(),
    "+ TrivialAugment": AugmentConfig(policy="trivialaugment"),
    "+ RandAugment 2 x 9": AugmentConfig(policy="randaugment"),
    "+ CutMix": AugmentConfig(cutmix_prob=1.0),
    "+ MixUp": AugmentConfig(mixup_prob=1.0),
}
POLICIES = {"TrivialAugment": ("trivialaugment", v2.TrivialAugmentWide()),
            "RandAugment 2 x 9": ("randaugment", v2.RandAugment())}  # fmt: skip
PER_GROUP, ONE_OP = "a torchvision call per (op, sign)", "torchvision's one op a batch"


class _OpCount(TorchDispatchMode):
    """Counts the ATen ops dispatched while it is on, views included."""

    def __init__(self) -> None:
        super().__init__()
        self.ops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops += 1
        return func(*args, **(kwargs or {}))


def _kernels(call: Callable[[], object]) -> int | None:
    """CUDA kernels (and copies) one call launches; None off CUDA."""
    if not torch.cuda.is_available():
        return None
    activities = [torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=activities) as profile:
        call()
        torch.cuda.synchronize()
    return sum(e.device_type == torch.autograd.DeviceType.CUDA for e in profile.events())


def _time(call: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Milliseconds per call, the device synchronized before and after."""
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    synchronize()
    tick = time.perf_counter()
    for _ in range(repeats):
        call()
    synchronize()
    return 1000 * (time.perf_counter() - tick) / repeats


def per_group(policy: Policy, images: torch.Tensor) -> torch.Tensor:
    """`policy` as it was applied before: each image its own op and sign, drawn as `policy`
    draws them, then one torchvision call per (op, sign) group with the group's first magnitude."""
    transform, nearest = v2.TrivialAugmentWide(), v2.InterpolationMode.NEAREST
    for _ in range(policy.rounds):
        ops, magnitudes = policy.draw(len(images))
        group = 2 * ops + (magnitudes < 0)
        counts = torch.bincount(group, minlength=2 * len(NAMES)).tolist()
        order, start = group.argsort(stable=True), 0
        on_device, out = order.to(images.device, non_blocking=True), images.clone()
        for g, count in enumerate(counts):
            index, start = on_device[start : start + count], start + count
            if count and NAMES[g // 2] != "Identity":
                magnitude = float(magnitudes[order[start - count]])
                out[index] = transform._apply_image_or_video_transform(
                    images[index], NAMES[g // 2], magnitude, interpolation=nearest, fill={}
                )
        images = out
    return images


def calls(device: torch.device, batch: int) -> dict[str, Callable[[], object]]:
    """Each row's one augmented batch, on a fixed batch of CIFAR-like images."""
    generator = torch.Generator().manual_seed(0)
    coarse = torch.randint(0, 256, (batch, 3, 8, 8), generator=generator, dtype=torch.uint8)
    images = torch.nn.functional.interpolate(coarse.float(), size=32, mode="bilinear").byte()
    images, labels = images.to(device), torch.arange(batch, device=device) % 10
    found: dict[str, Callable[[], object]] = {}
    for name, augment in SETTINGS.items():
        batches = Batches(images, labels, batch, augment, seed=0)
        found[name] = lambda batches=batches: batches.augmented(images, labels)
    for name, (policy, reference) in POLICIES.items():
        ours = Policy(policy)
        found[f"{name} alone"] = lambda ours=ours: ours(images)
        found[f"{name} alone, {PER_GROUP}"] = lambda ours=ours: per_group(ours, images)
        found[f"{name} alone, {ONE_OP}"] = lambda reference=reference: reference(images)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", help="cpu or cuda (default: cuda where there is one)")
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 128, 512])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20, help="calls timed per round")
    args = parser.parse_args()
    device = resolve_device(args.device)
    torch.manual_seed(0)
    print(f"device {device}; ms per batch (median of {args.rounds} rounds of {args.repeats})")
    print("| setting | batch | ms/batch | images/s | ops dispatched | CUDA kernels |")
    print("|---|---:|---:|---:|---:|---:|")
    for batch in args.batches:
        settings = calls(device, batch)
        ms: dict[str, list[float]] = {name: [] for name in settings}
        for call in settings.values():
            _time(call, device, 3)  # warm-up: caches, cuDNN's choice, the allocator
        for _ in range(args.rounds):
            for name, call in settings.items():
                ms[name].append(_time(call, device, args.repeats))
        for name, call in settings.items():
            with _OpCount() as count:
                call()
            kernels, median = _kernels(call), statistics.median(ms[name])
            print(f"| {name} | {batch} | {median:.2f} | {batch / median * 1000:,.0f} | "
                  f"{count.ops} | {'-' if kernels is None else kernels} |")  # fmt: skip


if __name__ == "__main__":
    main()
