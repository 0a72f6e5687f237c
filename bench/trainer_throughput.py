"""Training images per second: our trainer against a plain PyTorch reference loop, same CPU.

Ours: `trainers.loop.fit` (uint8 images resident on the device, crop/flip as whole-batch tensor
ops, channels_last, autocast), its second epoch's images/s as it reports them. The reference:
the loop most CIFAR notebooks write, a torchvision-style Dataset with per-sample PIL transforms
(RandomCrop(32, padding=4), RandomHorizontalFlip, ToTensor, Normalize) in a DataLoader with
`--workers` worker processes, the same model, batch size, optimizer and loss. Both run with the
autocast our trainer picks on this machine (bf16 here) and again in fp32, so the ratio shows
what the data path and memory layout are worth at equal arithmetic.

    python bench/trainer_throughput.py [--images 2560] [--workers 2]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from trainers import ModelConfig, OptimConfig, TrainConfig, autocast_dtype, build_model
from trainers.config import DataConfig
from trainers.data import MEAN, STD, load_cifar10, split
from trainers.loop import fit

MODELS = {
    "small (1,1,1) x (32,64,128)": ModelConfig(32, (1, 1, 1), (32, 64, 128)),
    "medium (2,2,2) x (64,128,256)": ModelConfig(64, (2, 2, 2), (64, 128, 256)),
}
BATCH = 128


class PilCifar(Dataset):
    """What torchvision.datasets.CIFAR10 does per sample: a PIL image through the transforms."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images = images.permute(0, 2, 3, 1).numpy()  # N x 32 x 32 x 3, as CIFAR10 keeps it
        self.labels = labels.tolist()
        self.transform = transforms.Compose([
            transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
            transforms.ToTensor(), transforms.Normalize(MEAN, STD),
        ])  # fmt: skip

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.images[i])), self.labels[i]


def reference(model_config: ModelConfig, data, workers: int, dtype) -> float:
    """Images/s of the plain loop's second pass over the images."""
    torch.manual_seed(0)
    model = build_model(model_config)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                                weight_decay=5e-4)  # fmt: skip
    loader = DataLoader(PilCifar(data.train_images, data.train_labels), batch_size=BATCH,
                        shuffle=True, num_workers=workers, drop_last=True,
                        persistent_workers=workers > 0)  # fmt: skip
    rate = 0.0
    for _ in range(2):
        model.train()
        tick, seen = time.perf_counter(), 0
        for x, y in loader:
            with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
                loss = F.cross_entropy(model(x).float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            seen += len(y)
        rate = seen / (time.perf_counter() - tick)
    return rate


def ours(model_config: ModelConfig, images: int, precision: str) -> float:
    config = TrainConfig(model=model_config, optim=OptimConfig(batch_size=BATCH, lr=0.05),
                         data=DataConfig(val_size=100, train_subset=images), epochs=2)  # fmt: skip
    rates = []
    data, dtype = (
        load_cifar10(device=torch.device("cpu")),
        autocast_dtype(torch.device("cpu"), precision),
    )
    fit(config, split(data, config.data), lambda e, v, **m: rates.append(m["images_per_s"]), dtype)
    return rates[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=2560)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    cpu = torch.device("cpu")
    auto = autocast_dtype(cpu, "auto")
    auto_name = {torch.bfloat16: "bf16", None: "fp32"}[auto]
    data = split(load_cifar10(device=cpu), DataConfig(val_size=100, train_subset=args.images))
    print(f"{args.images:,} CIFAR-10 images, batch {BATCH}, {torch.get_num_threads()} threads, "
          f"reference DataLoader with {args.workers} workers")  # fmt: skip
    for name, model in MODELS.items():
        for precision, dtype in ((auto_name, auto), ("fp32", None)):
            mine = ours(model, args.images, precision)
            theirs = reference(model, data, args.workers, dtype)
            print(f"{name}, {precision}: ours {mine:,.0f} img/s, reference {theirs:,.0f} img/s, "
                  f"ratio {mine / theirs:.2f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
