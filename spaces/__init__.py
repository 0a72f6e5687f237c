"""Search spaces: define-by-run functions `trial -> TrainConfig`, registered by name."""

from spaces.registry import Space, get_space, register, registered

__all__ = ["Space", "get_space", "register", "registered"]
