import pytest
import torch
import torch.nn.functional as F

from trainers import ModelConfig, OptimConfig, TrainConfig
from trainers.state import TrainState

MODEL = ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16))


def state_of(**optim) -> TrainState:
    torch.manual_seed(0)
    config = TrainConfig(model=MODEL, optim=OptimConfig(**optim))
    return TrainState.create(config, torch.device("cpu"), None, steps=10)


def step(state: TrainState, times: int = 3) -> torch.Tensor:
    """The head's weights after `times` steps on one fixed batch."""
    generator = torch.Generator().manual_seed(1)
    x, y = torch.randn(8, 3, 32, 32, generator=generator), torch.arange(8)
    for _ in range(times):
        state.optimizer.zero_grad()
        F.cross_entropy(state.model(x), y).backward()
        state.optimizer.step()
    return state.model.head.weight.detach().clone()


def test_sgd_is_nesterov_by_default_and_classical_when_asked():
    default, classical = state_of(), state_of(nesterov=False)
    assert type(default.optimizer) is torch.optim.SGD
    assert all(g["nesterov"] for g in default.optimizer.param_groups)
    assert not any(g["nesterov"] for g in classical.optimizer.param_groups)
    assert not torch.allclose(step(default), step(classical))


@pytest.mark.parametrize("decay", [0.0, 0.05])
def test_adamw_when_asked_with_decay_on_weights_only(decay):
    state = state_of(optimizer="adamw", lr=1e-3, weight_decay=decay)
    assert type(state.optimizer) is torch.optim.AdamW
    weights, norms = state.optimizer.param_groups
    assert weights["weight_decay"] == decay and norms["weight_decay"] == 0.0
    assert all(p.ndim > 1 for p in weights["params"]) and all(p.ndim == 1 for p in norms["params"])
    assert weights["betas"] == (0.9, 0.999) and weights["lr"] == 1e-3
    before = state.model.head.weight.detach().clone()
    after = step(state, 1)
    assert (after - before).abs().max() == pytest.approx(1e-3, rel=0.05)  # Adam: |step| ~ lr
