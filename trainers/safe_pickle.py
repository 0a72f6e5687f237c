"""Reading a pickle without running the code it names: plain containers and numpy arrays only.

`pickle.load` calls whatever class or function a file names, so a pickle from elsewhere can run
any code. This unpickler resolves only the names that containers and numpy arrays of numbers or
strings are pickled with (protocols 0 to 5, numpy 1 and 2) and refuses every other one.

It also keeps corrupt files from doing harm before they fail: a first pass over the opcodes
refuses lengths and memo indices beyond the file (the unpickler would allocate them first), and
numpy dtypes are rebuilt from their type code and byte order alone, because numpy's own
`dtype.__setstate__` crashes the interpreter on a malformed state.
"""

from __future__ import annotations

import collections
import io
import math
import pickle
import pickletools
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from errors import UserError

__all__ = ["ALLOWED", "load"]

ALLOWED = "dicts, lists, tuples, sets, strings, numbers and numpy arrays of numbers or strings"
MEMO_OPCODES = ("PUT", "BINPUT", "LONG_BINPUT")  # the unpickler grows its memo to the index
NUMPY_SCALAR = np.int64(0).__reduce__()[0]  # numpy.core.multiarray.scalar, wherever it lives
DTYPE_SPEC = re.compile(r"[biufcUSO]\d+")  # bool, integers, floats, complex, str, bytes, object
# what reading a truncated or corrupt pickle raises, numpy's rebuilding functions included
UNREADABLE = (
    OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
    KeyError, OverflowError, MemoryError, RecursionError, RuntimeError, SystemError,
)  # fmt: skip


class _Dtype:
    """A dtype as numpy pickles it (`numpy.dtype(spec, align, copy)`, then `__setstate__`),
    built from the type code and the byte order alone."""

    def __init__(self, spec: object, align: object = False, copy: object = True) -> None:
        spec = _text(spec)
        if not (isinstance(spec, str) and DTYPE_SPEC.fullmatch(spec)):
            raise pickle.UnpicklingError(f"dtype {spec!r:.20}; allowed: numbers, str, bytes")
        self.dtype = np.dtype(spec)

    def __setstate__(self, state: object) -> None:
        if not (isinstance(state, tuple) and len(state) in (8, 9) and state[2:5] == (None,) * 3):
            raise pickle.UnpicklingError(f"dtype state {state!r:.60}")  # structured, or corrupt
        order = _text(state[1])
        if order not in ("<", ">", "|", "="):
            raise pickle.UnpicklingError(f"dtype byte order {order!r:.20}")
        if order in ("<", ">"):
            self.dtype = self.dtype.newbyteorder(order)


def _text(value: object) -> object:
    """Python 2's str, which comes as bytes, as str."""
    return value.decode("ascii", errors="replace") if isinstance(value, bytes) else value


def _dtype(value: object) -> np.dtype:
    if not isinstance(value, _Dtype):
        raise pickle.UnpicklingError(f"{type(value).__name__} where a dtype goes")
    return value.dtype


class _Array(np.ndarray):
    """An ndarray whose pickled state names a _Dtype, and whose data fits its shape (numpy's
    own __setstate__ reads past the end of a short list of objects)."""

    def __setstate__(self, state: object) -> None:
        if not (isinstance(state, tuple) and len(state) == 5):
            raise pickle.UnpicklingError(f"array state {state!r:.60}")
        version, shape, dtype, fortran, data = state
        dtype = _dtype(dtype)
        if not (isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape)):
            raise pickle.UnpicklingError(f"array shape {shape!r:.40}")
        _check_data(data, dtype, math.prod(shape))
        super().__setstate__((version, shape, dtype, fortran, data))


def _check_data(data: object, dtype: np.dtype, count: int) -> None:
    """UnpicklingError unless `data` holds `count` items of `dtype`: objects in a list, or
    bytes."""
    kind, size = (list, count) if dtype.hasobject else (bytes, count * dtype.itemsize)
    if not isinstance(data, kind) or len(data) != size:
        raise pickle.UnpicklingError(f"{count:,} items of {dtype} in a {type(data).__name__}")


def _reconstruct(cls: object, shape: object, typecode: object) -> _Array:
    """numpy's _reconstruct: an empty array that the pickle's state then fills."""
    if cls is not np.ndarray:
        raise pickle.UnpicklingError(f"_reconstruct of {cls!r:.40}")
    return _Array((0,), np.uint8)


def _scalar(dtype: object, data: object = None) -> object:
    """numpy's scalar, with the rebuilt dtype."""
    dtype = _dtype(dtype)
    if dtype.hasobject:
        return data
    _check_data(data, dtype, 1)
    return NUMPY_SCALAR(dtype, data)


def _frombuffer(buffer: object, dtype: object, shape: object, order: object) -> np.ndarray:
    """numpy's _frombuffer (protocol 5), with the rebuilt dtype."""
    if order not in ("C", "F"):
        raise pickle.UnpicklingError(f"array order {order!r:.20}")
    return np.frombuffer(buffer, dtype=_dtype(dtype)).reshape(shape, order=order)  # type: ignore[arg-type]


def _latin1(text: object, encoding: object = "latin1") -> bytes:
    """How protocols 0 to 2 pickle bytes (`_codecs.encode(text, "latin1")`), and only that."""
    if encoding != "latin1" or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode with {encoding!r:.20}")
    return text.encode("latin1")


def _empty_bytes() -> bytes:
    """How protocols 0 to 2 pickle b"" (`bytes()`); bytes(n) would allocate n bytes."""
    return b""


def _globals() -> dict[tuple[str, str], Callable[..., object]]:
    """What the unpickler may call, under the names pickles use for it."""
    found: dict[tuple[str, str], Callable[..., object]] = {
        ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): _Dtype,
        ("_codecs", "encode"): _latin1, ("collections", "OrderedDict"): collections.OrderedDict,
    }  # fmt: skip
    for module in ("builtins", "__builtin__"):  # Python 3's and 2's
        found.update({(module, "set"): set, (module, "frozenset"): frozenset,
                      (module, "bytes"): _empty_bytes})  # fmt: skip
    for core in ("numpy.core", "numpy._core"):  # numpy 1's and 2's
        found.update({(f"{core}.multiarray", "_reconstruct"): _reconstruct,
                      (f"{core}.multiarray", "scalar"): _scalar,
                      (f"{core}.numeric", "_frombuffer"): _frombuffer})  # fmt: skip
    return found


SAFE_GLOBALS = _globals()


class _Refused(Exception):
    """The pickle names something outside SAFE_GLOBALS."""


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Callable[..., object]:
        found = SAFE_GLOBALS.get((module, name))
        if found is None:
            raise _Refused(f"{module}.{name}")
        return found


def _check_opcodes(data: bytes) -> None:
    """Read the opcodes through, building nothing: a length past the end of the file or a memo
    index beyond its size fails here (ValueError, UnpicklingError)."""
    for opcode, arg, _ in pickletools.genops(data):
        if opcode.name in MEMO_OPCODES and int(arg) > len(data):  # type: ignore[arg-type]
            raise pickle.UnpicklingError(f"memo index {arg:,} beyond the file's size")


def load(path: Path, what: str) -> object:
    """The object pickled in `path`; UserError starting with `what` if it names anything beyond
    ALLOWED or is not a readable pickle. Python 2's str comes back as bytes."""
    try:
        data = path.read_bytes()
        _check_opcodes(data)
        with warnings.catch_warnings():  # numpy's, on odd but harmless arguments
            warnings.simplefilter("ignore")
            return _SafeUnpickler(io.BytesIO(data), encoding="bytes").load()
    except _Refused as err:
        raise UserError(f"{what}: the pickle names {err}, which is not loaded (unpickling it "
                        f"could run code); allowed: {ALLOWED}") from None  # fmt: skip
    except UNREADABLE as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"{what}: not a readable pickle ({reason})") from None
