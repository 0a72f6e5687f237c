"""Does the whole-step CUDA graph train to the accuracy eager training reaches? Issue 15 asks for
"results equivalent (accuracy of 3 seeds within noise of eager)"; the CUDA tests check one
short run's losses (within 1e-3 in fp32), not what full trials end at.

One published design of the zoo, with its recipe, is trained as a trial trains on the GPU (all
45,000 training images, validated on the 5,000 held out, the device's autocast) for --epochs,
once per seed eagerly and once with the graph step (`graphs`, trainers/step.py), seed by seed,
each row printed as it ends, so a call cut short keeps the seeds it finished. Then each mode's
mean and standard error over the seeds, the mean paired difference (graphs - eager) with its
standard error, and the binomial standard error of one accuracy on the validation images, and
whether the difference is within two standard errors of both (noise) or not.

    source .gpu/setup.sh && python3 bench/graph_accuracy.py [--design WRN-16-2] [--epochs 10]
        [--seeds 0 1 2]

On an H200 a WRN-16-2 epoch takes seconds, so 3 seeds of 10 epochs in both modes fit in about
3 minutes. Without CUDA only `--modes eager` runs (the graph step needs CUDA), e.g. to try the
script: `--device cpu --modes eager --epochs 1 --train-subset 500 --val-size 500`.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys

import torch

from search.fidelity import VAL_SIZE
from search.views.gain import standard_error
from spaces import ZOO
from trainers import autocast_dtype, resolve_device
from trainers.config import TRAIN_IMAGES, TrainConfig
from trainers.data import Split, split
from trainers.loop import fit, prepare

MODES = ("eager", "graphs")


def trained(config: TrainConfig, data: Split, mode: str) -> tuple[float, float]:
    """(validation accuracy, seconds) of one run of `config` on `data` in `mode`."""
    dtype = autocast_dtype(data.train_images.device, "auto")  # as a trial gets
    _, metrics = fit(config, data, dtype=dtype, graphs=mode == "graphs")
    return metrics.val_accuracy, metrics.wall_s


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and its standard error (0 for one value), as search_efficiency.py's, whose import
    would bring Ray and Ray Tune to a GPU call that needs neither."""
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return statistics.fmean(values), se


def verdict(accuracy: dict[str, list[float]], val_size: int) -> str:
    """The modes' means, their paired difference, and whether it is within noise."""
    lines = [f"{mode:>7}: mean {m:.4f}, standard error {se:.4f} over {len(accuracy[mode])} seeds"
             for mode in accuracy for m, se in [mean_se(accuracy[mode])]]  # fmt: skip
    if len(accuracy) < 2:
        return "\n".join(lines)
    paired = [g - e for e, g in zip(accuracy["eager"], accuracy["graphs"], strict=True)]
    diff, se = mean_se(paired)
    binomial = standard_error(statistics.fmean(accuracy["eager"]), val_size)  # one accuracy's
    within = "within" if abs(diff) <= 2 * max(se, binomial) else "NOT within"
    lines.append(f"graphs - eager: {100 * diff:+.2f} points (standard error {100 * se:.2f} over "
                 f"the seeds; one accuracy's binomial standard error {100 * binomial:.2f}): "
                 f"{within} noise (2 standard errors)")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    names = [design.name for design in ZOO]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", choices=names, default="WRN-16-2", metavar="NAME",
                        help=f"a design of the zoo: {', '.join(names)}")  # fmt: skip
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--train-subset", type=int, default=0, help="0 = all 45,000")
    parser.add_argument("--val-size", type=int, default=VAL_SIZE)
    parser.add_argument("--device", default=None, help="default: CUDA where there is one")
    args = parser.parse_args()
    device = resolve_device(args.device)
    if "graphs" in args.modes and device.type != "cuda":
        sys.exit(f"graph_accuracy: the graph step needs CUDA, and the device is {device}; "
                 "run it on a GPU machine, or with --modes eager")  # fmt: skip
    design = next(design for design in ZOO if design.name == args.design)
    base = design.config()
    data = dataclasses.replace(base.data, train_subset=args.train_subset, val_size=args.val_size)
    epochs = f"{args.epochs} epoch{'s' * (args.epochs != 1)}"
    print(f"{design.name} ({design.n_params:,} parameters, its recipe), {epochs} on "
          f"{args.train_subset or TRAIN_IMAGES - args.val_size:,} images, validated on "
          f"{args.val_size:,}; {device}, torch {torch.__version__}")  # fmt: skip
    print(f"{'seed':>5}" + "".join(f"{mode + ' acc':>13}{'s':>7}" for mode in args.modes))
    accuracy: dict[str, list[float]] = {mode: [] for mode in args.modes}
    images = split(prepare(None, device, "auto")[0], data)  # as a trial gets it (cuDNN tuned)
    for seed in args.seeds:
        config = dataclasses.replace(base, data=data, epochs=args.epochs, seed=seed)
        row = f"{seed:>5}"
        for mode in args.modes:
            acc, seconds = trained(config, images, mode)
            accuracy[mode].append(acc)
            row += f"{acc:>13.4f}{seconds:>7.1f}"
        print(row, flush=True)
    print(verdict(accuracy, args.val_size))


if __name__ == "__main__":
    main()
