"""Options several `search` subcommands share, typed once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from storage import DEFAULT_URL, ENV_VAR

__all__ = ["Compile", "CudaGraphs", "DataDir", "Device", "Precision", "Storage", "Study"]

Storage = Annotated[
    str | None,
    typer.Option(
        help="SQLAlchemy URL of the study storage. "
        f"[default: ${ENV_VAR}, else {DEFAULT_URL}, that is ./search.db]",
        show_default=False,
    ),
]
Study = Annotated[
    str | None,
    typer.Option(
        "--study", help="Study name. [default: the storage's only study]", show_default=False
    ),
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        help="A standard cifar-10-batches-py folder (or its parent), read offline. "
        "[default: $SEARCH_DATA_DIR or ~/.cache/search/cifar10, downloaded if absent]",
        show_default=False,
    ),
]
Device = Annotated[
    str | None, typer.Option(help="cpu, cuda or cuda:N. [default: cuda if any, else cpu]")
]
Precision = Annotated[str, typer.Option(help="auto, bf16, fp16 or fp32 autocast.")]
Compile = Annotated[
    bool,
    typer.Option(
        "--compile",
        help="Compile each model's forward with torch.compile: CUDA graphs on CUDA, which the "
        "small batches of CIFAR ResNets need to keep a GPU busy; costs seconds per model "
        "before its first epoch. [default: eager]",
    ),
]
CudaGraphs = Annotated[
    bool | None,
    typer.Option(
        "--cuda-graphs/--no-cuda-graphs",
        help="On CUDA, capture each training step whole (forward, backward, optimizer) as one "
        "CUDA graph after 3 eager steps, and replay it: one launch per step instead of "
        "hundreds; bf16 or fp32 only. [default: on CUDA unless --compile or fp16]",
        show_default=False,
    ),
]
