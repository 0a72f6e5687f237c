"""Filling one GPU: the trainer's images/s per batch size, and trials per hour with 1, 2 and 4
trials sharing the GPU (Ray's fractional GPUs). One command on a GPU machine (issue 15):

    source .gpu/setup.sh && python3 bench/gpu_fill.py [--minutes 3] [--epochs 30]

Part 1 trains [3,4,3] x (64,128,256) and a 20,000-parameter model with `trainers.train.fit`, as
a trial trains (eager, the autocast the device gets), at batches 64, 128 and 512: 2 epochs on
10,000 images, the second epoch's images/s. Part 2 runs `search run` for --minutes with 1, 2,
then 4 trials at once on the GPU (`--workers K --gpus-per-trial 1/K`, a new study each, no warm
start, seed 0), stops it with Ctrl-C and counts the trials it trained (complete or pruned by the
pruner) per hour. Needs Ray (`bash ../shared/gpu/prepare --ray`) for K > 1.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import torch

from search.trial import trained_count
from trainers import ModelConfig, OptimConfig, TrainConfig, autocast_dtype, count_params
from trainers.config import DataConfig
from trainers.data import load_cifar10, split
from trainers.train import fit

MODELS = {
    "[3,4,3] x (64,128,256)": ModelConfig(64, (3, 4, 3), (64, 128, 256)),
    "(1,1) x (16,32)": ModelConfig(16, (1, 1), (16, 32)),
}
BATCHES = (64, 128, 512)
SHARING = (1, 2, 4)


def images_per_s(model: ModelConfig, batch: int, device: torch.device) -> float:
    config = TrainConfig(model=model, optim=OptimConfig(batch_size=batch),
                         data=DataConfig(val_size=1000, train_subset=10_000), epochs=2)  # fmt: skip
    rates: list[float] = []
    data = split(load_cifar10(device=device), config.data)
    fit(config, data, lambda e, v, **m: rates.append(m["images_per_s"]),
        autocast_dtype(device, "auto"))  # fmt: skip
    return rates[-1]


def trials_per_hour(k: int, minutes: float, epochs: int | None, where: Path) -> tuple[int, float]:
    """Trials trained by `search run` with k trials at once on the GPU in `minutes`, per hour."""
    storage = f"sqlite:///{where / 'fill.db'}"
    command = [sys.executable, "-m", "search", "run", "--study", f"fill{k}", "--trials",
               "100000", "--no-warm-start", "--seed", "0", "--storage", storage,
               "--workers", str(k), "--gpus-per-trial", str(1 / k)]  # fmt: skip
    if epochs is not None:
        command += ["--epochs", str(epochs)]
    start = time.monotonic()
    run = subprocess.Popen(command, cwd=where, stdout=subprocess.DEVNULL)
    try:
        run.wait(timeout=minutes * 60)
    except subprocess.TimeoutExpired:
        run.send_signal(signal.SIGINT)  # as a user stops it: trials in flight are not counted
        run.wait(timeout=300)
    hours = (time.monotonic() - start) / 3600
    trials = optuna.load_study(study_name=f"fill{k}", storage=storage).get_trials()
    trained = trained_count(trials)
    return trained, trained / hours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="per sharing setting")
    parser.add_argument("--epochs", type=int, default=None, help="default: the GPU fidelity")
    parser.add_argument("--skip-trials", action="store_true", help="part 1 only")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu_fill: no CUDA device here; run it on a GPU machine")
    device = torch.device("cuda")
    print(f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    print(f"{'model':<26}{'params':>11}" + "".join(f"{f'batch {b}':>12}" for b in BATCHES))
    for name, model in MODELS.items():
        rates = [images_per_s(model, batch, device) for batch in BATCHES]
        print(f"{name:<26}{count_params(model):>11,}" + "".join(f"{r:>12,.0f}" for r in rates))
    if args.skip_trials:
        return
    print(f"\ntrials at once   trained in {args.minutes:g} min   trials per hour")
    with tempfile.TemporaryDirectory() as where:
        for k in SHARING:
            trained, per_hour = trials_per_hour(k, args.minutes, args.epochs, Path(where))
            print(f"{k:>14}   {trained:>18}   {per_hour:>15.1f}", flush=True)


if __name__ == "__main__":
    main()
