"""PNG figures of one training run: its curves per epoch, and a confusion matrix."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

__all__ = ["STYLE", "save_confusion", "save_curves"]

STYLE = {"font.size": 12, "axes.titlesize": 14, "axes.labelsize": 12, "figure.dpi": 110}


def save_curves(history: Sequence[dict[str, float]], path: Path, title: str) -> None:
    """Loss (left) and accuracy (right) per epoch, on the training and validation images."""
    epochs = range(1, len(history) + 1)
    with plt.rc_context(STYLE):
        fig, (loss, accuracy) = plt.subplots(1, 2, figsize=(11, 4.5))
        for ax, figure, unit in (
            (loss, "loss", "cross-entropy"),
            (accuracy, "accuracy", "fraction"),
        ):
            for split, style in (("train", "-o"), ("val", "-s")):
                values = [h[f"{split}_{figure}"] for h in history]
                if not all(math.isnan(v) for v in values):
                    name = "training" if split == "train" else "validation"
                    ax.plot(epochs, values, style, ms=3, label=f"{name} images")
            ax.set_xlabel("epoch")
            ax.set_ylabel(f"{figure} ({unit})")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
            ax.legend()
        loss.set_title("Loss (training: as optimised, any label smoothing and mixing in)",
                       fontsize=11)  # fmt: skip
        accuracy.set_title("Accuracy", fontsize=11)
        fig.suptitle(title)
        fig.savefig(path, bbox_inches="tight")
        plt.close(fig)


def save_confusion(
    confusion: list[list[int]], classes: Sequence[str], path: Path, title: str
) -> None:
    """The confusion matrix as a heat map: true class by row, predicted class by column."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8.5, 7.5))
        image = ax.imshow(confusion, cmap="Blues")
        fig.colorbar(image, ax=ax, label="images")
        ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
        ax.set_yticks(range(len(classes)), classes)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        peak = max(max(row) for row in confusion) or 1
        for i, row in enumerate(confusion):
            for j, count in enumerate(row):
                color = "white" if count > peak / 2 else "black"
                ax.text(j, i, str(count), ha="center", va="center", fontsize=9, color=color)
        ax.set_title(title)
        fig.savefig(path, bbox_inches="tight")
        plt.close(fig)
