import torch
from torch import nn

from trainers.ema import Ema


def test_the_average_warms_up_then_follows_the_weights_slowly():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    ema = Ema(model, decay=0.99)
    start = model[0].weight.detach().clone()
    with torch.no_grad():
        model[0].weight.add_(1.0)
    ema.update(model)  # first update: decay 2/11, not 0.99
    assert torch.allclose(ema.module[0].weight, start + 9 / 11)
    for _ in range(2000):
        ema.update(model)
    assert torch.allclose(ema.module[0].weight, model[0].weight)
    assert ema.module[1].num_batches_tracked == model[1].num_batches_tracked


def test_the_average_resumes_from_its_state():
    model = nn.Linear(3, 1)
    first, second = Ema(model, 0.9), Ema(model, 0.9)
    for _ in range(5):
        first.update(model)
    second.load_state_dict(first.state_dict())
    with torch.no_grad():
        model.weight.mul_(2)
    first.update(model)
    second.update(model)
    assert torch.equal(first.module.weight, second.module.weight)
