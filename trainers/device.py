"""Where a run trains and in what precision: the device chosen at run time, and autocast."""

from __future__ import annotations

import torch

from errors import UserError

__all__ = [
    "PRECISIONS",
    "autocast_dtype",
    "check_precision",
    "describe_device",
    "numerics",
    "precision_name",
    "resolve_device",
]

PRECISIONS = ("auto", "bf16", "fp16", "fp32")


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The given device, else the first CUDA device this process sees, else the CPU."""
    if device is None:
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    allowed = "cpu" + (f", cuda, cuda:0 to cuda:{count - 1}" if count else " (no CUDA device here)")
    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise UserError(f"unknown device {device!r}; allowed: {allowed}") from None
    if parsed.type == "cuda" and (parsed.index or 0) < count:
        return torch.device("cuda", parsed.index or 0)
    if parsed.type == "cpu" and not parsed.index:  # one CPU device: "cpu" (or "cpu:0")
        return torch.device("cpu")
    known = parsed.type == "cuda"  # a device this machine lacks
    raise UserError(f"{'no' if known else 'unknown'} device {device!r}; allowed: {allowed}")


def check_precision(precision: str) -> None:
    """UserError unless `precision` is one of PRECISIONS."""
    if precision not in PRECISIONS:
        raise UserError(f"unknown precision {precision!r}; allowed: {', '.join(PRECISIONS)}")


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """Mixed-precision dtype for `device`; None for fp32.

    auto: bf16 on CUDA devices that have it (fp16 with loss scaling on older ones), bf16 on CPUs
    with AMX or AVX512-BF16 (about twice the fp32 speed there), fp32 on other CPUs.
    """
    check_precision(precision)
    if precision == "auto":
        if device.type == "cuda":
            with torch.cuda.device(device):  # natively: emulated bf16 is slower than fp16
                native = torch.cuda.is_bf16_supported(including_emulation=False)
            precision = "bf16" if native else "fp16"
        elif device.type == "cpu" and torch.cpu._is_avx512_bf16_supported():
            precision = "bf16"
        else:
            precision = "fp32"
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}[precision]


def precision_name(dtype: torch.dtype | None) -> str:
    """The precision `autocast_dtype` gave `dtype` for: "bf16", "fp16" or "fp32"."""
    return {torch.bfloat16: "bf16", torch.float16: "fp16", None: "fp32"}[dtype]


def numerics(device: torch.device, dtype: torch.dtype | None) -> dict[str, str]:
    """What a run trains in beside its config. A checkpoint (trainers.checkpoint) resumes
    exactly only in the numerics it was written in: fp32's has no loss scaler for fp16, and
    bf16 or another type of device would go on another way."""
    return {"device": device.type, "precision": precision_name(dtype)}


def describe_device(device: torch.device) -> str:
    """The device with its model name, e.g. "cuda:0 (NVIDIA H100 80GB HBM3)"."""
    if device.type != "cuda":
        return str(device)
    return f"{device} ({torch.cuda.get_device_name(device)})"
