"""Images to predict: a pickle in CIFAR's own layout, or a folder of 32x32 image files.

A pickle is a dict with b'data' (N uint8 images, N x 32 x 32 x 3 or N x 3072 channel-planar as
in CIFAR's batch files) and b'ids' (N ids); string keys are accepted too. A folder's images are
taken in natural name order (2.png before 10.png), each id the file name without extension.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from errors import UserError

__all__ = ["IMAGE_SUFFIXES", "read_inputs"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
SIDE = 32
LAYOUTS = "N x 32 x 32 x 3 or N x 3072 (channel-planar)"


def read_inputs(path: str | Path) -> tuple[list[str], torch.Tensor]:
    """(ids, uint8 images N x 3 x 32 x 32 on the CPU) in input order."""
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    if not path.is_file():
        raise UserError(f"--input {path}: no such file or folder; allowed: a pickle with b'data' "
                        "and b'ids', or a folder of 32x32 images")  # fmt: skip
    return _read_pickle(path)


def _key(document: dict, name: str, path: Path) -> object:
    for key in (name.encode(), name):
        if key in document:
            return document[key]
    raise UserError(f"--input {path}: no key b'{name}'; allowed: a dict with b'data' and b'ids', "
                    f"found keys {sorted(map(str, document))[:5]}")  # fmt: skip


def _read_pickle(path: Path) -> tuple[list[str], torch.Tensor]:
    try:
        with open(path, "rb") as f:
            document = pickle.load(f, encoding="bytes")  # the user's own file, trusted
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise UserError(f"--input {path}: not a readable pickle ({err})") from None
    if not isinstance(document, dict):
        raise UserError(f"--input {path}: a pickled {type(document).__name__}; allowed: a dict "
                        "with b'data' and b'ids'")  # fmt: skip
    data, ids = np.asarray(_key(document, "data", path)), list(_key(document, "ids", path))
    if data.dtype != np.uint8:
        raise UserError(f"--input {path}: b'data' holds {data.dtype}; allowed: uint8 pixels")
    if data.ndim == 2 and data.shape[1] == 3 * SIDE * SIDE:
        images = torch.from_numpy(data.copy()).view(-1, 3, SIDE, SIDE)
    elif data.ndim == 4 and data.shape[1:] == (SIDE, SIDE, 3):
        images = torch.from_numpy(data.copy()).permute(0, 3, 1, 2).contiguous()
    else:
        raise UserError(
            f"--input {path}: b'data' has shape {tuple(data.shape)}; allowed: {LAYOUTS}"
        )
    if len(ids) != len(images):
        raise UserError(f"--input {path}: {len(ids):,} ids for {len(images):,} images; allowed: "
                        "one id per image")  # fmt: skip
    return [_text(i) for i in ids], images


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)


def _natural(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _read_folder(folder: Path) -> tuple[list[str], torch.Tensor]:
    files = sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_natural
    )
    if not files:
        raise UserError(f"--input {folder}: no image files there; allowed: a folder of "
                        f"{', '.join(IMAGE_SUFFIXES)} files")  # fmt: skip
    images = []
    for file in files:
        try:
            with Image.open(file) as image:
                pixels = np.array(image.convert("RGB"))  # a writable copy
        except (OSError, UnidentifiedImageError) as err:
            raise UserError(f"--input {file}: not a readable image ({err})") from None
        if pixels.shape[:2] != (SIDE, SIDE):
            height, width = pixels.shape[:2]
            raise UserError(f"--input {file}: {width}x{height} pixels; allowed: 32x32 images")
        images.append(torch.from_numpy(pixels).permute(2, 0, 1))
    return [file.stem for file in files], torch.stack(images)
