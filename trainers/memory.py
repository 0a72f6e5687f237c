"""Whether a config can train on a device at all: a lower bound of its memory, checked up front.

A model too large for the device would otherwise fail deep inside PyTorch (or be killed by the
kernel) after the data has loaded, or minutes into training. The estimate needs nothing built:
the exact parameter count (`count_params`) and the shape of every block's output.

    parameters   4 bytes each (fp32 master weights, autocast or not) for the weights, their
                 gradients, the SGD momentum (AdamW: its two moments) and, with `ema`, the
                 moving average
    activations  per image, 3 tensors the size of every block's output (at the autocast dtype's
                 width) and 1 of the stem's; PyTorch saves 3.5 to 8 of them for the backward
                 pass in the CIFAR ResNets measured, so this is a lower bound
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from errors import ConfigError
from trainers.config import TrainConfig
from trainers.counting import IMAGE_SIZE, count_params, stage_plan
from trainers.device import describe_device

__all__ = ["available_bytes", "check_fits", "training_bytes"]

MEMINFO = Path("/proc/meminfo")
CGROUP = Path("/sys/fs/cgroup")


def _activation_elements(config: TrainConfig) -> int:
    """Block-output elements of one image, each counted 3 times, plus the stem's output."""
    model = config.model
    plan = stage_plan(model.depths, model.widths, model.stem_width, model.se_ratio)
    total, side = model.stem_width * IMAGE_SIZE**2, IMAGE_SIZE
    for i, blocks in enumerate(plan):
        side = side if i == 0 else max(1, (side + 1) // 2)
        total += 3 * sum(block.c_out for block in blocks) * side * side
    return total


def training_bytes(config: TrainConfig, dtype: torch.dtype | None) -> tuple[int, int]:
    """(parameter bytes, activation bytes of one batch): a lower bound of training's memory."""
    adam = config.optim.optimizer == "adamw"
    copies = 3 + adam + bool(config.ema)  # weights, gradients, momentum (2 moments), average
    width = 4 if dtype is None else torch.finfo(dtype).bits // 8
    activations = _activation_elements(config) * width * config.optim.batch_size
    return count_params(config.model) * 4 * copies, activations


def _cgroup_room() -> int | None:
    """Bytes this process's cgroup (v2) may still use, if it is limited."""
    try:
        limit = (CGROUP / "memory.max").read_text().strip()
        used = (CGROUP / "memory.current").read_text().strip()
    except OSError:
        return None
    if not (limit.isdigit() and used.isdigit()):
        return None  # "max": no limit
    return max(0, int(limit) - int(used))


def _cpu_available() -> int | None:
    """MemAvailable (Linux), within the cgroup's limit; else the physical memory; else None."""
    try:
        lines = MEMINFO.read_text().splitlines()
        found = [int(line.split()[1]) * 1024 for line in lines if line.startswith("MemAvailable:")]
    except (OSError, ValueError, IndexError):
        found = []
    if not found:
        try:
            found = [os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")]
        except (ValueError, OSError, AttributeError):
            return None
    room = _cgroup_room()
    return found[0] if room is None else min(found[0], room)


def available_bytes(device: torch.device) -> int | None:
    """Memory a run could still allocate on `device`; None when it cannot be told."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return free + cached  # this process's allocator holds `cached` for reuse
    if device.type == "cpu":
        return _cpu_available()
    return None


def _gb(n: int) -> str:
    return f"{n / 1e9:,.0f} GB" if n >= 10e9 else f"{n / 1e9:.1f} GB"


def check_fits(config: TrainConfig, device: torch.device, dtype: torch.dtype | None) -> None:
    """ConfigError unless training `config` on `device` could fit in the memory it has left."""
    room = available_bytes(device)
    if room is None:
        return
    params, activations = training_bytes(config, dtype)
    where = f"{describe_device(device)} has {_gb(room)} available"
    state = "AdamW moments" if config.optim.optimizer == "adamw" else "momentum"
    copies = f"weights, gradients and {state}"
    if config.ema:
        copies = f"weights, gradients, {state} and moving average"
    if params > room:
        raise ConfigError(
            f"model of {count_params(config.model):,} parameters needs ~{_gb(params)} for its "
            f"{copies} alone; {where}; allowed: a smaller model (model.widths, model.depths, "
            "model.stem_width)"
        )
    if params + activations > room:
        raise ConfigError(
            f"training needs at least ~{_gb(params + activations)}: ~{_gb(activations)} of "
            f"activations at optim.batch_size {config.optim.batch_size:,} and ~{_gb(params)} for "
            f"the {copies}; {where}; allowed: a smaller optim.batch_size or model"
        )
