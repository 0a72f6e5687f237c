"""Images to predict: a pickle in CIFAR's own layout, or a folder of 32x32 image files.

A pickle is a dict with b'data' (N uint8 images, N x 32 x 32 x 3 or N x 3072 channel-planar as
in CIFAR's batch files) and b'ids' (N distinct ids, integers or strings); string keys are
accepted too. It is read by `safe_pickle`, which loads no code. A folder's images are taken in
natural name order (2.png before 10.png), each id the file name without extension; their pixels
are 8-bit (a 16-bit grayscale PNG is refused).
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from errors import UserError
from trainers import safe_pickle

__all__ = ["IMAGE_SUFFIXES", "read_inputs"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
SIDE = 32
LAYOUTS = "N x 32 x 32 x 3 or N x 3072 (channel-planar)"
ALLOWED_PICKLE = "allowed: a dict with b'data' and b'ids'"
WIDE_MODES = {"I", "F", "I;16", "I;16L", "I;16B", "I;16N"}  # PIL's 16-bit, 32-bit, float pixels


def read_inputs(path: str | Path) -> tuple[list[str], torch.Tensor]:
    """(ids, uint8 images N x 3 x 32 x 32 on the CPU) in input order; at least one image, and
    no id twice."""
    path = Path(path)
    if path.is_dir():
        ids, images = _read_folder(path)
    elif path.is_file():
        ids, images = _read_pickle(path)
    else:
        raise UserError(f"--input {path}: no such file or folder; allowed: a pickle with b'data' "
                        "and b'ids', or a folder of 32x32 images")  # fmt: skip
    if not len(images):
        raise UserError(f"--input {path}: 0 images; allowed: at least one image")
    id_, count = collections.Counter(ids).most_common(1)[0]
    if count > 1:
        raise UserError(f"--input {path}: id {id_!r} is given to {count:,} images; allowed: one "
                        "distinct id per image")  # fmt: skip
    return ids, images


def _key(document: dict, name: str, path: Path) -> object:
    for key in (name.encode(), name):
        if key in document:
            return document[key]
    raise UserError(f"--input {path}: no key b'{name}'; {ALLOWED_PICKLE}, "
                    f"found keys {sorted(map(str, document))[:5]}")  # fmt: skip


def _read_pickle(path: Path) -> tuple[list[str], torch.Tensor]:
    document = safe_pickle.load(path, f"--input {path}")
    if not isinstance(document, dict):
        raise UserError(f"--input {path}: a pickled {type(document).__name__}; {ALLOWED_PICKLE}")
    images = _images(_key(document, "data", path), path)
    ids = _ids(_key(document, "ids", path), path)
    if len(ids) != len(images):
        raise UserError(f"--input {path}: {len(ids):,} ids for {len(images):,} images; allowed: "
                        "one id per image")  # fmt: skip
    return ids, images


def _images(data: object, path: Path) -> torch.Tensor:
    """b'data' as uint8 images N x 3 x 32 x 32."""
    allowed = f"allowed: uint8 pixels, {LAYOUTS}"
    if not isinstance(data, np.ndarray | list | tuple):
        raise UserError(f"--input {path}: b'data' is of type {type(data).__name__}; {allowed}")
    try:
        array = np.asarray(data)
    except ValueError:  # a list of arrays of different shapes
        raise UserError(
            f"--input {path}: b'data' holds images of different shapes; {allowed}"
        ) from None
    if array.dtype != np.uint8:
        raise UserError(f"--input {path}: b'data' holds {array.dtype}; {allowed}")
    if array.ndim == 2 and array.shape[1] == 3 * SIDE * SIDE:
        return torch.from_numpy(array.copy()).view(-1, 3, SIDE, SIDE)
    if array.ndim == 4 and array.shape[1:] == (SIDE, SIDE, 3):
        return torch.from_numpy(array.copy()).permute(0, 3, 1, 2).contiguous()
    raise UserError(f"--input {path}: b'data' has shape {tuple(array.shape)}; allowed: {LAYOUTS}")


def _ids(ids: object, path: Path) -> list[str]:
    """b'ids' as text: integers and strings (bytes too) in a list, a tuple or a 1-D array."""
    allowed = "allowed: a list or 1-D array of ids, each an integer or a string"
    if isinstance(ids, np.ndarray):
        if ids.ndim != 1:
            raise UserError(f"--input {path}: b'ids' has shape {ids.shape}; {allowed}")
        ids = ids.tolist()  # numpy integers and strings become Python's
    if not isinstance(ids, list | tuple):
        raise UserError(f"--input {path}: b'ids' is of type {type(ids).__name__}; {allowed}")
    for i, id_ in enumerate(ids):
        if isinstance(id_, bool) or not isinstance(id_, int | str | bytes | np.integer):
            raise UserError(f"--input {path}: b'ids'[{i}] is of type {type(id_).__name__} "
                            f"({id_!r:.40}); {allowed}")  # fmt: skip
    return [_text(i) for i in ids]


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="backslashreplace")
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
            with Image.open(file) as image:  # reads the header: the size, before any pixel
                if image.size != (SIDE, SIDE):
                    width, height = image.size
                    raise UserError(f"--input {file}: {width}x{height} pixels; allowed: 32x32 "
                                    "images")  # fmt: skip
                if image.mode in WIDE_MODES:  # convert("RGB") would clip each pixel to 255
                    raise UserError(f"--input {file}: 16-bit or float pixels (mode "
                                    f"{image.mode}); allowed: 8-bit images")  # fmt: skip
                pixels = np.array(image.convert("RGB"))  # a writable copy
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as err:
            raise UserError(f"--input {file}: not a readable image ({err})") from None
        images.append(torch.from_numpy(pixels).permute(2, 0, 1))
    return [file.stem for file in files], torch.stack(images)
