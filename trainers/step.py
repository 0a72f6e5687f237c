"""The training step: eager, or captured once as a CUDA graph and replayed.

At the batches CIFAR ResNets train with (64-256), one step is some hundreds of small kernels, and
launching them one by one from Python takes longer than running them: on an H100 (issue 15),
[3,4,3] x (64,128,256) trained at 5.5k images/s eager at batch 64, and 18.0k with CUDA graphs of
the forward alone. `GraphStep` captures the whole step (forward, backward, optimizer, the epoch's
sums) as PyTorch's whole-network capture does (docs: notes/cuda, "CUDA Graphs"): a few eager
warm-up steps on a side stream, the step captured on static inputs, then each batch copied into
them and the graph replayed with one launch.

What the graph cannot hold stays around it in Python: the LR schedule (each group's LR is a
device tensor the optimizer reads, refilled from the schedule before every step), the weights'
moving average and the data path (crops and flips drawn on the device; the mix and its box
or weight on the host).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F

from errors import ConfigError
from trainers.config import NUM_CLASSES
from trainers.state import TrainState

__all__ = ["WARMUP_STEPS", "GraphStep", "Step", "check_graphs", "eager_step", "use_graphs"]

WARMUP_STEPS = 3  # eager steps before the capture: cuDNN picks its kernels, the optimizer its state

Step = Callable[[torch.Tensor, torch.Tensor], None]  # (images, targets): one optimizer step


def check_graphs(device: torch.device, dtype: torch.dtype | None, compile: bool) -> None:
    """ConfigError unless the whole step can be captured as a CUDA graph on `device`."""
    if compile:
        raise ConfigError("--cuda-graphs and --compile: give one of them")
    if device.type != "cuda":
        raise ConfigError(f"--cuda-graphs on {device}; allowed: a CUDA device")
    if dtype == torch.float16:  # GradScaler reads its found-inf flag on the host every step
        raise ConfigError("--cuda-graphs with fp16, whose loss scaler waits on the GPU every "
                          "step; allowed: --precision bf16 or fp32")  # fmt: skip


def use_graphs(
    asked: bool | None, device: torch.device, dtype: torch.dtype | None, compile: bool
) -> bool:
    """Whether each step replays a CUDA graph: as `asked` (a ConfigError where it cannot), or,
    not asked (None), wherever it can: on CUDA, neither compiled nor fp16. On an H200 the graph
    step made every 30-epoch trial measured faster end to end than eager, 1.05x at [3,4,3] x
    (64,128,256) and batch 512 to 6.6x at 20,000 parameters and batch 64 (BENCHMARKS.md)."""
    if asked is None:
        return device.type == "cuda" and not compile and dtype != torch.float16
    if asked:
        check_graphs(device, dtype, compile)
    return asked


def eager_step(
    state: TrainState,
    images: torch.Tensor,
    targets: torch.Tensor,
    smoothing: float,
    dtype: torch.dtype | None,
) -> None:
    """One optimizer step on a batch; adds its mean loss and its count of images classified as
    their dominant label to `state.sums`, on the device (nothing here waits for it)."""
    if state.compiled_graphs:  # the last step's graph outputs may be overwritten from here on
        torch.compiler.cudagraph_mark_step_begin()
    # no cast cache: a cast captured in a graph must be redone at every replay, not reused
    with torch.autocast(images.device.type, dtype, enabled=dtype is not None, cache_enabled=False):
        logits = state.model(images)
    loss = F.cross_entropy(logits.float(), targets, label_smoothing=smoothing)
    state.optimizer.zero_grad(set_to_none=True)
    state.scaler.scale(loss).backward()
    state.scaler.step(state.optimizer)
    state.scaler.update()
    labels = targets if targets.ndim == 1 else targets.argmax(1)
    state.sums[0] += loss.detach()
    state.sums[1] += (logits.detach().argmax(1) == labels).sum()


class GraphStep:
    """`step` run eagerly for WARMUP_STEPS batches, then captured as a CUDA graph and replayed.

    Targets are always class probabilities (one-hot for an unmixed batch: the same loss), so
    that every batch fits the one captured shape. The optimizer must be capturable (fused SGD,
    or AdamW with `capturable=True`; see TrainState.create) and the loss scaler off (no fp16).
    The warm-up steps read the LR from the same device tensors as the replays, so that they run
    the very kernels the graph holds: a run resumed from a checkpoint, which warms up again,
    ends as one that never stopped.
    """

    def __init__(self, step: Step, optimizer: torch.optim.Optimizer, device: torch.device) -> None:
        self.step, self.optimizer, self.device = step, optimizer, device
        self.eager_steps = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.images = self.targets = torch.empty(0)  # the static inputs, once captured
        self.lrs = [  # each parameter group's LR, as the optimizer reads it on the device
            torch.zeros((), dtype=torch.float32, device=device) for _ in optimizer.param_groups
        ]
        self.stream = torch.cuda.Stream(device)  # warm-up and capture: never the default one

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> None:
        if targets.ndim == 1:
            targets = F.one_hot(targets, NUM_CLASSES).float()
        with torch.cuda.device(self.device):
            for lr, group in zip(self.lrs, self.optimizer.param_groups, strict=True):
                lr.fill_(group["lr"])  # the schedule's LR for this step
            if self.graph is None:
                if self.eager_steps < WARMUP_STEPS:
                    self._warm_up(images, targets)
                    return
                self.graph = self._capture(images, targets)
            self.images.copy_(images)
            self.targets.copy_(targets)
            self.graph.replay()

    @contextlib.contextmanager
    def _tensor_lrs(self) -> Iterator[None]:
        """The optimizer reads each group's LR from `self.lrs` meanwhile (a float would be
        baked into the graph); the schedule and checkpoints go on seeing floats."""
        groups = self.optimizer.param_groups
        floats = [group["lr"] for group in groups]
        try:
            for group, lr in zip(groups, self.lrs, strict=True):
                group["lr"] = lr
            yield
        finally:
            for group, lr in zip(groups, floats, strict=True):
                group["lr"] = lr

    def _warm_up(self, images: torch.Tensor, targets: torch.Tensor) -> None:
        """One real training step, eagerly on the side stream (as capture needs)."""
        self.stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.stream), self._tensor_lrs(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", "This instance was constructed with capturable")
            self.step(images, targets)
        torch.cuda.current_stream().wait_stream(self.stream)
        self.eager_steps += 1

    def _capture(self, images: torch.Tensor, targets: torch.Tensor) -> torch.cuda.CUDAGraph:
        """The step recorded on static copies of the batch, on this GPU's own side stream
        (torch.cuda.graph's default stream is the first GPU's of the process). Recording runs
        nothing: the caller replays it for this batch."""
        self.images, self.targets = images.clone(), targets.clone()
        graph = torch.cuda.CUDAGraph()
        with self._tensor_lrs(), torch.cuda.graph(graph, stream=self.stream):
            self.step(self.images, self.targets)
        return graph
