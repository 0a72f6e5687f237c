"""Search spaces: define-by-run functions `trial -> TrainConfig`, registered by name, and the
zoo of published designs written in `resnet_budget`'s parameters."""

from spaces.registry import (
    Space,
    call_space,
    get_space,
    probe,
    register,
    registered,
    space_key,
    takes_budget,
)
from spaces.resnet_budget import resnet_budget  # registers itself as "resnet_budget"
from spaces.zoo import ZOO, Design, designs_within

__all__ = [
    "ZOO",
    "Design",
    "Space",
    "call_space",
    "designs_within",
    "get_space",
    "probe",
    "register",
    "registered",
    "resnet_budget",
    "space_key",
    "takes_budget",
]
