"""Filling one GPU: the trainer's images/s per batch size (eager, the whole step as a CUDA
graph, compiled), and trials per hour with 1, 2 and 4 trials sharing the GPU (Ray's fractional
GPUs). One command on a GPU machine (issue 15), or two to stay within a 10-minute call:

    source .gpu/setup.sh && python3 bench/gpu_fill.py --skip-trials  # 2 min on an H200
    source .gpu/setup.sh && python3 bench/gpu_fill.py --skip-images --settings 1 2 4

Part 1 trains [3,4,3] x (64,128,256) and a 20,000-parameter model with `trainers.loop.fit`, as
a trial trains (the autocast the device gets), at batches 64, 128 and 512: 2 epochs on 10,000
images, eager, with `graphs` (the whole step captured as one CUDA graph, trainers/step.py) and
with `compile` (torch.compile of the forward, CUDA graphs); a mode that fails is marked so, with
its error, and the others are still measured. It prints the second epoch's images/s for each,
the set-up seconds (the first epoch's excess over the eager one's: compiling, or warming up and
capturing) and what they make of a 30-epoch trial on 45,000 images: its time against eager's,
which must stay under 1 for the mode to pay. Part 2 runs `search run` of --trials trials (8)
with 1, 2, then 4 trials sharing each GPU (`--trials-per-gpu K`), with the default (each
trial's share by its model and batch, search.executors.sharing), each with the default step (a
CUDA graph), and 1 per GPU with `--compile` (1c) and eager (`--no-cuda-graphs`: 1e, 4e): a new
study each, no warm start, no pruner, seed 0, so every setting trains the same configs (TPE's
random start-up draws). A trial is --epochs (1) on --train-subset images (20,000), validated on
--val-size (5,000, as by default): the default GPU fidelity (30 epochs on 45,000) would finish
too few trials in a lease. It prints each setting's makespan (first start to last end) and
trials per hour, and those as trials of the default fidelity per hour (scaled by images
trained: a trial's set-up, a larger share of a short trial, makes that figure a lower bound).
Needs Ray (`bash ../shared/gpu/prepare --ray`) for all but K = 1.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna
import torch

from errors import UserError
from search.fidelity import GPU_EPOCHS, VAL_SIZE
from search.trial import is_trained
from trainers import ModelConfig, OptimConfig, TrainConfig, count_params
from trainers.config import DataConfig
from trainers.data import split
from trainers.loop import fit, prepare

MODELS = {
    "[3,4,3] x (64,128,256)": ModelConfig(64, (3, 4, 3), (64, 128, 256)),
    "(1,1) x (16,32)": ModelConfig(16, (1, 1), (16, 32)),
}
BATCHES = (64, 128, 512)
IMAGES = 10_000  # part 1: training images per epoch
SHARING = ("1", "2", "4", "auto")  # --trials-per-gpu, or the default rule
MODES = ("eager", "graphs", "compiled")  # the training step, in the order measured: see
# epoch_seconds; compiling takes the longest, so a call that runs out of time loses it first


def epoch_seconds(
    model: ModelConfig, batch: int, device: torch.device, mode: str, images: int = IMAGES
) -> list:
    """Seconds of each of 2 epochs on `images` images, as a trial trains, in `mode` (MODES)."""
    config = TrainConfig(model=model, optim=OptimConfig(batch_size=batch),
                         data=DataConfig(val_size=1000, train_subset=images), epochs=2)  # fmt: skip
    rates: list[float] = []
    cifar, dtype = prepare(None, device, "auto")  # as a trial gets it (cuDNN's autotuner on)
    fit(config, split(cifar, config.data), lambda e, v, **m: rates.append(m["images_per_s"]),
        dtype, compile=mode == "compiled", graphs=mode == "graphs")  # fmt: skip
    return [images / rate for rate in rates]


def compare(
    model: ModelConfig,
    batch: int,
    device: torch.device,
    modes: tuple[str, ...] = MODES,
    images: int = IMAGES,
) -> str:
    """A row: images/s per mode in `modes` (eager first), then per mode but eager its set-up
    seconds and a 30-epoch trial's time against eager's. A mode that fails says why below the
    row and shows "failed" in it, and the others are still measured: a GPU call is too rare to
    lose to one mode."""
    seconds: dict[str, list | None] = {}
    errors = []
    for mode in modes:
        try:
            seconds[mode] = epoch_seconds(model, batch, device, mode, images)
        except (RuntimeError, UserError) as error:  # a CUDA or capture error, or a refusal
            seconds[mode] = None
            errors.append(f"\n  {mode} failed: {str(error).splitlines()[0]}")
    eager = seconds["eager"]
    epochs_s = 30 * 45_000 / images  # a 30-epoch trial's epochs, in units of these epochs
    row = f"{batch:>6}" + "".join(
        f"{images / s[1]:>10,.0f}" if s else f"{'failed':>10}" for s in seconds.values()
    )
    for mode in modes[1:]:
        if seconds[mode] is None or eager is None:
            row += f"{'-':>10}{'-':>8}"
            continue
        setup_s = max(0.0, seconds[mode][0] - eager[0])
        ratio = (setup_s + epochs_s * seconds[mode][1]) / (epochs_s * eager[1])
        row += f"{setup_s:>10.1f}{ratio:>8.2f}"
    return row + "".join(errors)


def makespan(setting: str, args: argparse.Namespace, where: Path) -> tuple[int, float]:
    """`search run` of `args.trials` trials with `setting` (k trials per GPU, "auto" for the
    default's shares; a "c" after it: compiled, an "e": eager), every setting the same seeded
    configs (TPE's random start-up, no pruner): trials trained and the makespan in seconds,
    from the first trial's start to the last one's end."""
    k = setting.removesuffix("c").removesuffix("e")
    storage, name = f"sqlite:///{where / 'fill.db'}", f"fill{setting}"
    command = [sys.executable, "-m", "search", "run", "--study", name, "--trials",
               str(args.trials), "--no-warm-start", "--seed", "0", "--pruner", "none",
               "--epochs", str(args.epochs), "--train-subset", str(args.train_subset),
               "--val-size", str(args.val_size), "--storage", storage,
               "--timeout", str(args.timeout)]  # fmt: skip
    if k != "auto":
        command += ["--trials-per-gpu", k]
    if setting.endswith("c"):
        command.append("--compile")
    if setting.endswith("e"):
        command.append("--no-cuda-graphs")
    subprocess.run(command, cwd=where, stdout=subprocess.DEVNULL, check=False)
    trials = optuna.load_study(study_name=name, storage=storage).get_trials()
    trained = [t for t in trials if is_trained(t)]
    if not trained:
        return 0, math.nan
    first = min(t.datetime_start for t in trained)
    last = max(t.datetime_complete for t in trained)
    return len(trained), (last - first).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8, help="part 2: trials per setting")
    parser.add_argument("--epochs", type=int, default=1, help="part 2: epochs per trial")
    parser.add_argument("--train-subset", type=int, default=20_000,
                        help="part 2: training images per epoch, 0 = all 45,000")  # fmt: skip
    parser.add_argument("--val-size", type=int, default=VAL_SIZE,
                        help="part 2: held-out images each trial validates on")  # fmt: skip
    parser.add_argument("--timeout", type=int, default=240, help="part 2: seconds per setting")
    parser.add_argument(
        "--modes", nargs="+", choices=MODES[1:], default=MODES[1:],
        help="part 1's modes beside eager, which is always measured",
    )  # fmt: skip
    parser.add_argument("--skip-trials", action="store_true", help="part 1 only")
    parser.add_argument("--skip-images", action="store_true", help="part 2 only")
    parser.add_argument(
        "--settings", nargs="+", default=[*SHARING, "1c", "1e", "4e"],
        help="part 2's trials per GPU: 1, 2, 4 ..., auto (the default's rule); after it, c: "
        "compiled, e: eager (1c, 4e)",
    )  # fmt: skip
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu_fill: no CUDA device here; run it on a GPU machine")
    device = torch.device("cuda")
    modes = ("eager", *(mode for mode in MODES[1:] if mode in args.modes))
    print(f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    if not args.skip_images:
        print("images/s per mode; per mode but eager: set-up s, a 30-epoch trial's time / eager's")
        for name, model in MODELS.items():
            print(f"{name} ({count_params(model):,} parameters)")
            head = "".join(f"{mode:>10}" for mode in modes)
            head += "".join(f"{mode[:5] + ' s':>10}{'ratio':>8}" for mode in modes[1:])
            print(f"{'batch':>6}{head}")
            for batch in BATCHES:
                print(compare(model, batch, device, modes), flush=True)
    if args.skip_trials:
        return
    images = args.epochs * (args.train_subset or 45_000)
    scale = images / (GPU_EPOCHS * 45_000)  # trials of this size per trial at the default
    print(f"\n{args.trials} seeded trials of {args.epochs} epoch(s) on {images:,} images each")
    print(f"{'trials per GPU':>14} {'trained':>8} {'makespan s':>11} {'trials/h':>9} "
          f"{'as default-fidelity trials/h':>29}")  # fmt: skip
    with tempfile.TemporaryDirectory() as where:
        for setting in args.settings:
            trained, seconds = makespan(setting, args, Path(where))
            per_hour = 3600 * trained / seconds if trained else math.nan
            short = "  (timed out: fewer trials, not comparable)" * (trained < args.trials)
            print(f"{setting:>14} {trained:>8} {seconds:>11.1f} {per_hour:>9.1f} "
                  f"{per_hour * scale:>29.2f}{short}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
