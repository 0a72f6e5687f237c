"""Search spaces: define-by-run functions `trial -> TrainConfig`, registered by name."""

from spaces.registry import Space, call_space, get_space, probe, register, registered

__all__ = ["Space", "call_space", "get_space", "probe", "register", "registered"]
