"""`train(config, report) -> Metrics`: one config trained and validated, tuner-agnostic.

The trainer knows nothing of the search. It calls `report(epoch, val_accuracy, **metrics)` after
every epoch (metrics: images_per_s, val_loss, train_loss, train_accuracy); whatever the caller
raises from there (a pruner's verdict) ends training.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from errors import DivergedError
from trainers.checkpoint import Progress, restore, save
from trainers.config import TrainConfig
from trainers.counting import count_params
from trainers.data import Batches, Cifar10, Split, load_cifar10, normalize, split
from trainers.device import autocast_dtype, describe_device, precision_name, resolve_device
from trainers.memory import check_fits
from trainers.state import TrainState
from trainers.step import GraphStep, Step, check_graphs, eager_step, use_graphs

__all__ = ["BatchProgress", "Metrics", "Report", "evaluate", "fit", "prepare", "train"]

BatchProgress = Callable[[int, int, int], None]  # (epoch, its images trained so far, its images)


class Report(Protocol):
    """Called after every epoch with the validation accuracy and other figures of the epoch."""

    def __call__(self, epoch: int, value: float, /, **metrics: float) -> None: ...


@dataclass(frozen=True)
class Metrics:
    """What one training run measured."""

    val_accuracy: float  # fraction of held-out images classified correctly after the last epoch
    val_loss: float  # mean cross-entropy on them, without label smoothing
    epochs: int  # epochs run
    images_per_s: float  # training images per second, evaluation excluded
    wall_s: float  # seconds for the whole run, data and model set-up included; resumed, the
    # earlier processes' too, through their last saved epoch (their data loading excluded)
    n_params: int  # trainable parameters
    device: str  # where it ran, e.g. "cpu" or "cuda:0 (NVIDIA H100 80GB HBM3)"
    precision: str  # autocast dtype: "bf16", "fp16" or "fp32"
    history: tuple[dict[str, float], ...] = ()  # per epoch: val_accuracy, val_loss, train_loss,
    # train_accuracy (val figures NaN when the validation images were merged into training)


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    dtype: torch.dtype | None = None,
    batch_size: int | None = None,
) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of `model` on uint8 images."""
    if batch_size is None:  # CPUs are faster on batches that stay in cache
        batch_size = 1024 if images.device.type == "cuda" else 256
    model.eval()
    correct = torch.zeros((), device=images.device)
    loss = torch.zeros((), device=images.device)
    for i in range(0, len(labels), batch_size):
        x, y = normalize(images[i : i + batch_size]), labels[i : i + batch_size]
        with torch.autocast(images.device.type, dtype=dtype, enabled=dtype is not None):
            logits = model(x)
        loss += F.cross_entropy(logits.float(), y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
    n = len(labels)
    return correct.item() / n, loss.item() / n


def _epoch(
    state: TrainState,
    batches: Batches,
    step: Step,
    heard: Callable[[int, int], None] | None = None,
) -> tuple[float, float]:
    """One pass over the training batches: (mean loss, accuracy against each batch's dominant
    label), summed on the device and read once. `heard` gets (images trained, the epoch's
    images) after each batch is queued on the device, without waiting for it."""
    state.model.train()
    state.sums.zero_()
    n = batches.epoch_images
    for done, (images, targets) in enumerate(batches, start=1):
        step(images, targets)
        state.scheduler.step()
        if state.ema is not None:
            state.ema.update(state.model)
        if heard is not None:
            heard(min(done * batches.batch_size, n), n)
    loss, correct = state.sums.tolist()
    return loss / len(batches), correct / n


def _replay(history: list[dict[str, float]], report: Report | None) -> None:
    """Report the epochs a checkpoint holds again, as they were reported first."""
    for epoch, figures in enumerate(history, start=1):
        if report is not None:
            value, rest = figures["val_accuracy"], dict(figures)
            del rest["val_accuracy"]
            report(epoch, value, **rest)


def fit(
    config: TrainConfig,
    data: Split,
    report: Report | None = None,
    dtype: torch.dtype | None = None,
    checkpoint: Path | None = None,
    batches_done: BatchProgress | None = None,
    compile: bool = False,
    graphs: bool = False,
) -> tuple[nn.Module, Metrics]:
    """Train `config` on `data.train_*`, validating on `data.val_*` after every epoch (if any).
    Returns the trained model (the weights' moving average with `config.ema`) and its metrics.
    A config that cannot fit in the device's memory is a ConfigError before anything is built.
    With `checkpoint`, the run is saved there after every epoch, and resumed from it if it is
    there already: the epochs it holds are reported again, and training goes on exactly as if
    it had not stopped. `batches_done` hears how each epoch goes, batch by batch. `compile`:
    see `TrainState.create`; the compile time counts in the first epoch's. `graphs`: each step
    replays one CUDA graph (`GraphStep`); a ConfigError where it cannot (`check_graphs`)."""
    start = time.perf_counter()
    device = data.train_images.device
    check_fits(config, device, dtype)  # ConfigError before the model is built, not an OOM after
    if graphs:
        check_graphs(device, dtype, compile)
    torch.manual_seed(config.seed)  # weights, dropout, stochastic depth, mixes, policy ops
    batches = Batches(
        data.train_images, data.train_labels, config.optim.batch_size, config.augment,
        seed=config.seed,
    )  # fmt: skip
    steps = config.epochs * len(batches)
    state = TrainState.create(config, device, dtype, steps, compile, capturable=graphs)
    done = Progress()
    if checkpoint is not None and checkpoint.exists():
        done = restore(checkpoint, config, state, batches.generator)
        _replay(done.history, report)
        start -= done.wall_s  # the processes that trained it before count too
    step = _training_step(state, config, dtype, graphs)
    for epoch in range(done.epoch + 1, config.epochs + 1):
        tick = time.perf_counter()
        heard = batches_done and functools.partial(batches_done, epoch)
        train_loss, train_accuracy = _epoch(state, batches, step, heard)
        epoch_s = time.perf_counter() - tick  # _epoch read its sums: the device is done
        if not math.isfinite(train_loss):
            raise DivergedError(f"training loss is {train_loss} in epoch {epoch}")
        images = batches.epoch_images
        done.seen, done.train_s, done.epoch = done.seen + images, done.train_s + epoch_s, epoch
        val_accuracy, val_loss = math.nan, math.nan  # merged into training: nothing validates
        if len(data.val_labels):
            val_accuracy, val_loss = evaluate(state.final, data.val_images, data.val_labels, dtype)
        figures = {"val_accuracy": val_accuracy, "val_loss": val_loss, "train_loss": train_loss,
                   "train_accuracy": train_accuracy}  # fmt: skip
        done.history.append(figures)
        done.wall_s = time.perf_counter() - start
        if checkpoint is not None:
            save(checkpoint, config, state, batches.generator, done)
        if report is not None:
            report(epoch, val_accuracy, images_per_s=images / epoch_s, val_loss=val_loss,
                   train_loss=train_loss, train_accuracy=train_accuracy)  # fmt: skip
    if graphs:  # the gradients live in the graph's memory pool: let it go with the graph
        state.optimizer.zero_grad(set_to_none=True)
    return state.final, _metrics(config, done, time.perf_counter() - start, device, dtype)


def _training_step(
    state: TrainState, config: TrainConfig, dtype: torch.dtype | None, graphs: bool
) -> Step:
    """One optimizer step per call: eager, or replayed as a CUDA graph with `graphs`."""
    step = functools.partial(eager_step, state, smoothing=config.optim.label_smoothing, dtype=dtype)
    return GraphStep(step, state.optimizer, state.sums.device) if graphs else step


def _metrics(
    config: TrainConfig,
    done: Progress,
    wall_s: float,
    device: torch.device,
    dtype: torch.dtype | None,
) -> Metrics:
    """A finished run's metrics, from its progress."""
    return Metrics(
        val_accuracy=done.history[-1]["val_accuracy"],
        val_loss=done.history[-1]["val_loss"],
        epochs=config.epochs,
        images_per_s=done.seen / done.train_s if done.train_s else math.nan,
        wall_s=wall_s,
        n_params=count_params(config.model),
        device=describe_device(device),
        precision=precision_name(dtype),
        history=tuple(done.history),
    )


def train(
    config: TrainConfig,
    report: Report | None = None,
    *,
    data_dir: str | Path | None = None,
    device: str | torch.device | None = None,
    precision: str = "auto",
    checkpoint: Path | None = None,
    compile: bool = False,
    graphs: bool | None = None,
) -> Metrics:
    """Train `config` on CIFAR-10's training split and return its validation metrics.

    With `checkpoint`, save every epoch there and resume from it if it exists (see `fit`);
    with `compile`, the model's forward is compiled (see `TrainState.create`); with `graphs`,
    each step on CUDA replays a CUDA graph (see `fit`); None: wherever the device it trains on
    allows (`use_graphs`), decided here, where the trial runs, not in a search's driver.
    """
    start = time.perf_counter()
    data, dtype = prepare(data_dir, device, precision)
    graphs = use_graphs(graphs, data.train_images.device, dtype, compile)
    data = split(data, config.data)
    set_up_s = time.perf_counter() - start
    _, metrics = fit(config, data, report, dtype, checkpoint, compile=compile, graphs=graphs)
    return dataclasses.replace(metrics, wall_s=set_up_s + metrics.wall_s)


def prepare(
    data_dir: str | Path | None, device: str | torch.device | None, precision: str
) -> tuple[Cifar10, torch.dtype | None]:
    """CIFAR-10 on the resolved device, and the autocast dtype to train it with."""
    resolved = resolve_device(device)
    dtype = autocast_dtype(resolved, precision)
    if resolved.type == "cuda":
        torch.backends.cudnn.benchmark = True  # input shapes are fixed: pick the fastest kernels
    return load_cifar10(data_dir, resolved), dtype
