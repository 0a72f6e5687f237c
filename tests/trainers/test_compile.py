"""`compile`: the model's forward compiled by torch.compile (inductor on a CPU, CUDA graphs on
CUDA) trains like the eager model and keeps its state dict (resuming: test_checkpoint.py)."""

import dataclasses

import pytest

from tests.trainers.conftest import SMALL
from trainers import ModelConfig, OptimConfig, TrainConfig
from trainers.loop import fit
from trainers.state import TrainState

pytestmark = pytest.mark.slow  # compiling takes seconds per model on 2 CPU cores

CONFIG = TrainConfig(  # no dropout: compiled code draws its own random numbers
    model=ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16)),
    optim=OptimConfig(batch_size=64),
    data=SMALL,
    epochs=2,
)


def test_a_compiled_model_trains_like_the_eager_one(data):
    eager_model, eager = fit(CONFIG, data)
    compiled_model, compiled = fit(CONFIG, data, compile=True)
    for a, b in zip(eager.history, compiled.history, strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-2)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-2)
    assert list(compiled_model.state_dict()) == list(eager_model.state_dict())


def test_the_state_compiles_the_training_model_only(data):
    device = data.train_images.device
    with_ema = dataclasses.replace(CONFIG, ema=0.9)
    state = TrainState.create(with_ema, device, None, steps=8, compile=True)
    assert state.compiled_graphs == (device.type == "cuda")  # CUDA graphs only where CUDA is
    assert state.model._compiled_call_impl is not None
    assert state.ema is not None and state.ema.module._compiled_call_impl is None
    assert not TrainState.create(CONFIG, device, None, steps=8).compiled_graphs
