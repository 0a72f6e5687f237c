"""How many trials share one GPU: as many as its idle time fits, from each trial's model and batch.

A training step costs a GPU two things: launching its kernels, a time per step that Python and
the driver pay whatever the batch, and their arithmetic, which grows with the batch and the
model's multiply-accumulates per image (`count_macs`). Below some arithmetic per step the
launches set the pace and the GPU waits between kernels; other trials' steps fill those waits.
Measured on one H100 (issue 15, bf16 autocast, eager, the trainer as it landed):
[3,4,3] x (64,128,256), 723 M MACs per image, took the same time per step at batch 64 and 128
(5.5k and 10.9k images/s: about 85 steps/s, the launches' pace) and reached 37.4k images/s at
batch 512, 40.5k with CUDA graphs (the arithmetic's pace). So a step fills the GPU from about
40,500 / 85 = 476 images of that model, FILL_MACS. Three trainings at once ran 53k images/s
together against 37k for the fastest alone.

The rule gives each trial the largest of 1, 2 or 4 trials per GPU whose steps' arithmetic
together stays within FILL_MACS; memory is not the limit in this range (a model with few MACs
per image has small activations too). It is calibrated on one GPU kind from those figures, not
on trials per hour: `bench/gpu_fill.py` measures 1, 2, 4 and this rule side by side.
"""

from __future__ import annotations

from trainers import TrainConfig
from trainers.counting import count_macs

__all__ = ["FILL_MACS", "MOST_PER_GPU", "trials_per_gpu"]

FILL_MACS = 723_192_320 * 40_500 // 85  # multiply-accumulates per step that keep a GPU busy
MOST_PER_GPU = 4  # the most trials the rule puts on a GPU (--trials-per-gpu may put more)


def trials_per_gpu(config: TrainConfig) -> int:
    """1, 2 or 4: how many trials like this one share a GPU, by the arithmetic of its step."""
    step_macs = count_macs(config.model) * config.optim.batch_size
    trials = 1
    while trials < MOST_PER_GPU and 2 * trials * step_macs <= FILL_MACS:
        trials *= 2
    return trials
