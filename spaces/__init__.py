"""Search spaces: define-by-run functions `trial -> TrainConfig`, registered by name."""

from spaces.registry import Space, call_space, get_space, probe, register, registered
from spaces.resnet_budget import resnet_budget  # registers itself as "resnet_budget"

__all__ = ["Space", "call_space", "get_space", "probe", "register", "registered", "resnet_budget"]
