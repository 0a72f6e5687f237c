"""Files a user may hand `search train`, `evaluate`, `predict` and `report` that they must refuse.

`write_bad_files(where)` writes them all into one directory; tests/search/cli/test_model.py's
BAD_INPUTS names them.
"""

import os
import pickle
import zlib

import numpy as np
import yaml
from PIL import Image

from trainers import ModelConfig, OptimConfig, TrainConfig

TINY = TrainConfig(
    model=ModelConfig(stem_width=16, depths=(1, 1), widths=(16, 32)),
    optim=OptimConfig(batch_size=128, lr=0.2),
    epochs=2,
)
IMAGES = np.zeros((4, 32, 32, 3), dtype=np.uint8)


class Reduced:
    """Pickles as `function(*args)`, then `state` if given: what a hostile file can name."""

    def __init__(self, function, args, state=None):
        self.function, self.args, self.state = function, args, state

    def __reduce__(self):
        return (self.function, self.args) if self.state is None else (
            self.function, self.args, self.state)  # fmt: skip


class Foreign:
    """A class the reader of the pickle does not have: its module is renamed in the bytes."""


def pickles():
    """name -> the document pickled under that name."""
    reconstruct = np.zeros(1).__reduce__()[0]
    short = (1, (55,), np.dtype("O"), False, [1, 2])  # 55 objects, 2 given: numpy reads past
    return {
        "ok.pkl": {"data": IMAGES, "ids": [1, 2, 3, 4]},
        "noids.pkl": {"data": IMAGES},
        "small.pkl": {"data": np.zeros((4, 28, 28, 3), np.uint8), "ids": [1, 2, 3, 4]},
        "flat.pkl": {"data": np.zeros((4, 1024), np.uint8), "ids": [1, 2, 3, 4]},
        "count.pkl": {"data": IMAGES, "ids": [1, 2, 3]},
        "floats.pkl": {"data": IMAGES.astype(float), "ids": [1, 2, 3, 4]},
        "list.pkl": [1, 2],
        "intids.pkl": {b"data": IMAGES, b"ids": 4},
        "noneids.pkl": {b"data": IMAGES, b"ids": None},
        "strids.pkl": {b"data": IMAGES, b"ids": "abcd"},
        "floatids.pkl": {b"data": IMAGES, b"ids": [1.0, 2.0, 3.0, 4.0]},
        "gridids.pkl": {b"data": IMAGES, b"ids": np.arange(4).reshape(2, 2)},
        "dupids.pkl": {b"data": IMAGES, b"ids": [1, 2, "2", 3]},
        "ragged.pkl": {b"data": [IMAGES[0], IMAGES[0, :31]], b"ids": [1, 2]},
        "none.pkl": {b"data": None, b"ids": [1]},
        "zero.pkl": {b"data": np.zeros((0, 3072), np.uint8), b"ids": []},
        "foreign.pkl": {b"data": IMAGES, b"ids": [Foreign()] * 4},
        "code.pkl": {b"data": Reduced(os.system, ("echo hello",)), b"ids": [1]},
        "dtype.pkl": {b"data": Reduced(np.dtype, ("i8", False, True), (3, "<", 5, -1, -1, 0))},
        "objects.pkl": {b"data": Reduced(reconstruct, (np.ndarray, (0,), b"b"), short)},
    }


def write_pickles(where):
    for name, document in pickles().items():
        data = pickle.dumps(document, protocol=2)  # names as text: one can be renamed
        (where / name).write_bytes(data.replace(Foreign.__module__.encode(), b"gone_module"))
    (where / "junk.pkl").write_bytes(b"\x00not a pickle")
    # 20 bytes that claim a 1 TB bytearray, and a memo slot 4 billion entries in
    (where / "claim.pkl").write_bytes(b"\x80\x05\x96" + (2**40).to_bytes(8, "little") + b"xx.")
    (where / "memo.pkl").write_bytes(b"\x80\x04N\x94r\xff\xff\xff\xff.")


def write_configs(where):
    def config(name, section, key, value):
        document = TINY.to_dict()
        document[section][key] = value
        (where / name).write_text(yaml.safe_dump(document))

    (where / "tiny.yaml").write_text(yaml.safe_dump(TINY.to_dict()))
    config("lr.yaml", "optim", "lr", 1e300)
    config("decay.yaml", "optim", "weight_decay", float("inf"))
    config("huge.yaml", "optim", "lr", 10**400)
    config("deep.yaml", "model", "depths", [1000, 1])
    config("wide.yaml", "model", "widths", [100_000, 100_000])
    document = TINY.to_dict()  # small weights, a stem of 100,000 channels: terabytes a batch
    document["model"]["stem_width"], document["optim"]["batch_size"] = 100_000, 50_000
    (where / "batch.yaml").write_text(yaml.safe_dump(document))


def write_bad_files(where):
    write_pickles(where)
    write_configs(where)
    (where / "big").mkdir()
    Image.fromarray(np.zeros((28, 28, 3), np.uint8)).save(where / "big" / "0.png")
    (where / "bomb").mkdir()  # a PNG header of 20,000 x 20,000 pixels: its size is refused
    chunks = [b"IHDR" + (20_000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0]), b"IDAT"]
    png = b"".join((len(c) - 4).to_bytes(4, "big") + c + zlib.crc32(c).to_bytes(4, "big")
                   for c in chunks)  # fmt: skip
    (where / "bomb" / "0.png").write_bytes(b"\x89PNG\r\n\x1a\n" + png)
    (where / "deep").mkdir()  # a 16-bit grayscale PNG: PIL's convert("RGB") makes it white
    Image.fromarray(np.full((32, 32), 1000, np.uint16)).save(where / "deep" / "0.png")
    (where / "twice").mkdir()  # 1.png and 1.jpg: both id 1
    for name in ("0.png", "1.png", "1.jpg"):
        Image.fromarray(IMAGES[0]).save(where / "twice" / name)
    (where / "empty").mkdir()
    (where / "afile").write_text("a file, not a directory\n")
    for name in ("trials.csv", "confusion.png", "model.pt"):  # where a command writes a file
        (where / "taken" / name).mkdir(parents=True)
    (where / "fixed").mkdir()  # a file there that nobody can overwrite, root included
    for name in ("model.pt", "evaluation.json"):
        (where / "fixed" / name).symlink_to("/proc/version")
