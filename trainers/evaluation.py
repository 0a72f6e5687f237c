"""A finished training run: loaded from its model.pt, scored on the test set, used to predict.

model.pt holds the config next to the weights, so the model is rebuilt exactly (the same
parameter count as the export it came from) with nothing else to go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from errors import UserError
from trainers.checkpoint import load_file
from trainers.config import NUM_CLASSES, TrainConfig
from trainers.counting import count_params
from trainers.data import CLASSES, Cifar10, normalize
from trainers.device import autocast_dtype, resolve_device
from trainers.inputs import read_inputs
from trainers.loop import prepare
from trainers.resnet import build_model

__all__ = [
    "MODEL_FILE",
    "Scores",
    "Trained",
    "evaluate_run",
    "load_run",
    "model_file",
    "predict",
    "predict_inputs",
    "save_run",
    "score",
    "score_test_set",
]

MODEL_FILE = "model.pt"
StepProgress = Callable[[int, int], None]  # (done, total), as a long step goes


@dataclass(frozen=True)
class Trained:
    """A trained model with the config that built it."""

    config: TrainConfig
    model: nn.Module
    n_params: int


@dataclass(frozen=True)
class _ModelFile:
    """What model.pt holds, as a plain dict of these fields."""

    config: dict  # TrainConfig.to_dict()
    n_params: int  # the model's trainable parameters, checked again on loading
    state_dict: dict  # the weights, on the CPU


def save_run(path: Path, config: TrainConfig, model: nn.Module) -> None:
    """Write model.pt: the config, its parameter count and the weights (on the CPU)."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save(vars(_ModelFile(config.to_dict(), count_params(config.model), state)), path)


ALLOWED_RUN = f"allowed: the --out directory of a finished `search train`, or its {MODEL_FILE}"


def model_file(path: str | Path) -> Path:
    """The model.pt of a `search train` run: its --out directory, or that file itself."""
    path = Path(path)
    file = path / MODEL_FILE if path.is_dir() else path
    if not file.is_file():
        raise UserError(f"{path}: no {MODEL_FILE} there; {ALLOWED_RUN}")
    return file


def load_run(path: str | Path, device: torch.device) -> Trained:
    """The model of a `search train` run: its --out directory, or the model.pt in it."""
    file = model_file(path)
    keys = {field.name for field in fields(_ModelFile)}
    document = load_file(file, "model file", keys, ALLOWED_RUN)
    saved = _ModelFile(**{key: document[key] for key in keys})
    try:
        config = TrainConfig.from_dict(saved.config)
    except UserError as err:  # a config no `search train` wrote
        raise type(err)(f"{file}: {err}") from None
    model = build_model(config.model, device)
    n_params = count_params(config.model)
    if n_params != saved.n_params:
        raise UserError(f"{file}: its config builds {n_params:,} parameters, not the "
                        f"{saved.n_params:,} it was saved with")  # fmt: skip
    try:
        model.load_state_dict(saved.state_dict)
    except (RuntimeError, TypeError) as err:  # TypeError: weights that are not a mapping
        first = str(err).splitlines()[1].strip() if "\n" in str(err) else str(err)
        raise UserError(f"{file}: the weights do not fit its config ({first[:200]})") from None
    return Trained(config, model.to(memory_format=torch.channels_last).eval(), n_params)


@torch.inference_mode()
def predict(
    model: nn.Module,
    images: torch.Tensor,
    tta: bool = False,
    dtype: torch.dtype | None = None,
    batch_size: int = 500,
    progress: StepProgress | None = None,
) -> torch.Tensor:
    """Class probabilities (N x 10, float32) for uint8 images N x 3 x 32 x 32 on the model's
    device; with `tta`, the mean of the image's and its mirror image's. `progress` hears
    (images done, N) after each batch."""
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = normalize(images[i : i + batch_size])
        views = [x, x.flip(3)] if tta else [x]
        with torch.autocast(x.device.type, dtype=dtype, enabled=dtype is not None):
            probs = [F.softmax(model(view).float(), dim=1) for view in views]
        out.append(torch.stack(probs).mean(0))
        if progress:
            progress(i + len(x), len(images))
    return torch.cat(out) if out else torch.zeros(0, NUM_CLASSES, device=images.device)


@dataclass(frozen=True)
class Scores:
    """Predictions against the true labels."""

    accuracy: float  # fraction correct
    per_class: dict[str, float]  # class name -> fraction of its images classified correctly
    confusion: list[list[int]]  # confusion[true][predicted], image counts


def score(probs: torch.Tensor, labels: torch.Tensor) -> Scores:
    predicted = probs.argmax(1)
    pairs = labels * NUM_CLASSES + predicted
    confusion = torch.bincount(pairs, minlength=NUM_CLASSES**2).view(NUM_CLASSES, NUM_CLASSES)
    confusion = confusion.cpu()
    per_class = confusion.diag() / confusion.sum(1).clamp(min=1)
    return Scores(
        accuracy=(predicted == labels).float().mean().item(),
        per_class={name: per_class[i].item() for i, name in enumerate(CLASSES)},
        confusion=confusion.tolist(),
    )


def score_test_set(
    model: nn.Module,
    data: Cifar10,
    dtype: torch.dtype | None,
    passes: Sequence[tuple[str, bool]],
    progress: StepProgress | None = None,
) -> dict[str, Scores]:
    """The model's scores on the test images, one per (name, tta) pass. `progress` hears
    (images scored, total) after each batch, a mirror image counting as one more."""
    n = len(data.test_images)
    total = sum(n * (1 + tta) for _, tta in passes)
    if progress:
        progress(0, total)  # scoring starts
    scores, before = {}, 0
    for name, tta in passes:

        def heard(done: int, _: int, before: int = before, views: int = 1 + tta) -> None:
            if progress:
                progress(before + views * done, total)

        probs = predict(model, data.test_images, tta, dtype, progress=heard)
        scores[name] = score(probs, data.test_labels)
        before += n * (1 + tta)
    return scores


def evaluate_run(
    trained: Trained,
    data_dir: str | Path | None,
    device: torch.device,
    precision: str,
    progress: StepProgress | None = None,
) -> dict[str, Scores]:
    """A run's model (`load_run` on `device`) scored on the 10,000 test images, as it is
    ("plain") and with flip test-time augmentation ("tta"); `progress` as for `score_test_set`."""
    data, dtype = prepare(data_dir, device, precision)
    passes = (("plain", False), ("tta", True))
    return score_test_set(trained.model, data, dtype, passes, progress)


def predict_inputs(
    path: str | Path,
    inputs: str | Path,
    device: str | None,
    precision: str,
    tta: bool,
    progress: StepProgress | None = None,
) -> pd.DataFrame:
    """Columns ID and Labels (class 0-9) for the images of `inputs`, in their order."""
    ids, images = read_inputs(inputs)  # bad input fails before the model loads
    resolved = resolve_device(device)
    trained = load_run(path, resolved)
    dtype = autocast_dtype(resolved, precision)
    if progress:
        progress(0, len(images))  # loaded: predicting starts
    probs = predict(trained.model, images.to(resolved), tta, dtype, progress=progress)
    return pd.DataFrame({"ID": ids, "Labels": probs.argmax(1).cpu().numpy()})
