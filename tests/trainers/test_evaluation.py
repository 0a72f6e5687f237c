import pytest
import torch
from torch import nn

from errors import UserError
from trainers import ModelConfig, TrainConfig, count_params
from trainers.evaluation import load_run, predict, save_run, score
from trainers.resnet import build_model

CONFIG = TrainConfig(model=ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16)))


def test_a_saved_run_loads_as_the_same_model(tmp_path):
    model = build_model(CONFIG.model)
    save_run(tmp_path / "model.pt", CONFIG, model)
    loaded = load_run(tmp_path, torch.device("cpu"))
    assert loaded.config == CONFIG and loaded.n_params == count_params(CONFIG.model)
    for a, b in zip(model.state_dict().values(), loaded.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_weights_of_another_config_are_refused(tmp_path):
    save_run(tmp_path / "model.pt", CONFIG, build_model(CONFIG.model))
    document = torch.load(tmp_path / "model.pt")
    document["config"]["model"]["widths"] = [8, 32]
    document["n_params"] = count_params(ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 32)))
    torch.save(document, tmp_path / "model.pt")
    with pytest.raises(UserError, match="the weights do not fit its config"):
        load_run(tmp_path, torch.device("cpu"))


class LeftBright(nn.Module):
    """Says class 1 when the left half is brighter, else class 0: a flip changes its mind."""

    def forward(self, x):
        left, right = x[..., :16].mean((1, 2, 3)), x[..., 16:].mean((1, 2, 3))
        logits = torch.zeros(len(x), 10)
        logits[:, 1] = 10 * (left - right)
        return logits


def test_tta_averages_an_image_with_its_mirror_image():
    images = torch.zeros(2, 3, 32, 32, dtype=torch.uint8)
    images[0, :, :, :16] = 255
    plain, tta = predict(LeftBright(), images), predict(LeftBright(), images, tta=True)
    assert plain[0].argmax() == 1 and plain[0, 1] > 0.99
    mirrored = predict(LeftBright(), images.flip(3))
    assert torch.allclose(tta, (plain + mirrored) / 2)
    assert 0.4 < tta[0, 1] < 0.6  # the two views disagree: half sure
    assert torch.allclose(tta.sum(1), torch.ones(2))


def test_scores_count_every_image_once():
    probs = torch.eye(10)[[0, 1, 1, 2]]
    labels = torch.tensor([0, 1, 2, 2])
    scores = score(probs, labels)
    assert scores.accuracy == 0.75
    assert scores.confusion[2] == [0, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert scores.per_class["bird"] == 0.5 and scores.per_class["cat"] == 0.0


def test_predict_reports_its_progress_batch_by_batch():
    heard = []
    images = torch.zeros(1200, 3, 32, 32, dtype=torch.uint8)
    probs = predict(LeftBright(), images, batch_size=500, progress=lambda *p: heard.append(p))
    assert len(probs) == 1200
    assert heard == [(500, 1200), (1000, 1200), (1200, 1200)]
