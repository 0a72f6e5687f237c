"""A model config in one short phrase, for tables and lines; needs nothing but the config."""

from __future__ import annotations

__all__ = ["describe_model"]


def describe_model(config: dict) -> str:
    """A model config in one short phrase: block, blocks x width per stage, SE, and the
    shortcut and activation when they are not the default."""
    model = config.get("model", {})
    pairs = zip(model.get("depths", []), model.get("widths", []), strict=True)
    stages = " ".join(f"{d}x{w}" for d, w in pairs)
    se = f" se{model['se_ratio']:g}" if model.get("se_ratio") else ""
    pad = " pad" if model.get("shortcut") == "pad" else ""
    act = f" {model['activation']}" if model.get("activation", "relu") != "relu" else ""
    return f"{model.get('block', '?')} {stages}{se}{pad}{act}"
