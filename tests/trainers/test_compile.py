"""`compile`: the model's forward compiled by torch.compile (inductor on a CPU, CUDA graphs on
CUDA) trains like the eager model, keeps its state dict, and resumes exactly."""

import dataclasses

import pytest
import torch

from trainers import DataConfig, ModelConfig, OptimConfig, TrainConfig
from trainers.data import load_cifar10, split
from trainers.state import TrainState
from trainers.train import fit

pytestmark = pytest.mark.slow  # compiling takes seconds per model on 2 CPU cores

CONFIG = TrainConfig(  # no dropout: compiled code draws its own random numbers
    model=ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16)),
    optim=OptimConfig(batch_size=64),
    data=DataConfig(val_size=256, train_subset=256),
    epochs=2,
)


class Stop(Exception):
    pass


@pytest.fixture(scope="module", params=["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def data(fake_cifar, request):
    return split(load_cifar10(fake_cifar, torch.device(request.param)), CONFIG.data)


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
    assert state.graphs == (device.type == "cuda")  # CUDA graphs only where CUDA is
    assert state.model._compiled_call_impl is not None
    assert state.ema is not None and state.ema.module._compiled_call_impl is None
    assert not TrainState.create(CONFIG, device, None, steps=8).graphs


def test_a_compiled_run_resumes_exactly(data, tmp_path):
    config = dataclasses.replace(CONFIG, epochs=3)
    straight, straight_metrics = fit(config, data, checkpoint=tmp_path / "a.pt", compile=True)

    def stop_after_two(epoch, value, **_):
        if epoch == 2:
            raise Stop

    with pytest.raises(Stop):
        fit(config, data, stop_after_two, checkpoint=tmp_path / "b.pt", compile=True)
    resumed, resumed_metrics = fit(config, data, checkpoint=tmp_path / "b.pt", compile=True)
    assert resumed_metrics.val_loss == straight_metrics.val_loss
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)
