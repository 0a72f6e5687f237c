import dataclasses
import json
import math
import time

import pytest
import torch

from errors import DivergedError
from trainers import (
    AugmentConfig,
    DataConfig,
    ModelConfig,
    OptimConfig,
    TrainConfig,
    build_model,
    count_params,
    train,
)
from trainers.device import numerics
from trainers.retrain import full_fidelity, prepare_out, retrain

TINY = TrainConfig(
    model=ModelConfig(stem_width=16, depths=(1, 1), widths=(16, 32)),
    optim=OptimConfig(lr=0.2, batch_size=128),
    augment=AugmentConfig(crop_padding=0, flip=False),  # learns fastest in few epochs
    data=DataConfig(val_size=1000, train_subset=10_000),
    epochs=3,
)
CPU = numerics(torch.device("cpu"), None)  # prepare_out's numerics: unused when not resuming


@pytest.mark.slow
def test_a_tiny_resnet_learns_real_cifar10_well_above_chance(cifar_dir):
    reports = []
    metrics = train(TINY, lambda e, v, **m: reports.append((e, v, m)), data_dir=cifar_dir)
    assert [e for e, _, _ in reports] == [1, 2, 3]
    assert metrics.val_accuracy == reports[-1][1]
    assert metrics.val_accuracy > 0.3, metrics  # chance is 0.1
    assert metrics.n_params == count_params(TINY.model)
    assert metrics.images_per_s > 0 and reports[0][2]["images_per_s"] > 0
    assert metrics.epochs == 3 and metrics.device == "cpu"


def test_whatever_report_raises_stops_training(fake_cifar):
    class Stop(Exception):
        pass

    def report(epoch, value, **metrics):
        raise Stop(epoch)

    quick = dataclasses.replace(TINY, data=DataConfig(val_size=500, train_subset=640))
    with pytest.raises(Stop, match="1"):
        train(quick, report, data_dir=fake_cifar)


def test_a_diverging_loss_raises(fake_cifar):
    config = TrainConfig(  # the largest lr and weight decay allowed, over 80 steps an epoch
        model=TINY.model,
        optim=OptimConfig(lr=10, weight_decay=1, batch_size=8),
        data=DataConfig(val_size=1000, train_subset=640),
        epochs=2,
    )
    with pytest.raises(DivergedError, match=r"training loss is (nan|inf)"):
        train(config, data_dir=fake_cifar, precision="fp32")


@pytest.mark.parametrize("schedule", ["cosine", "step", "onecycle"])
def test_every_schedule_trains_and_is_seeded(fake_cifar, schedule):
    from trainers import ScheduleConfig

    config = TrainConfig(
        model=ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 8)),
        optim=OptimConfig(batch_size=64),
        schedule=ScheduleConfig(name=schedule),
        data=DataConfig(val_size=500, train_subset=640),
        epochs=2,
    )
    first = train(config, data_dir=fake_cifar, precision="fp32")
    second = train(config, data_dir=fake_cifar, precision="fp32")
    assert math.isfinite(first.val_loss)
    assert first.val_loss == second.val_loss


def test_retrain_saves_a_checkpoint_of_the_same_model_and_test_metrics(fake_cifar, tmp_path):
    config = full_fidelity(TINY, epochs=1, train_subset=640)
    result = retrain(config, prepare_out(tmp_path / "run", config, False, CPU), data_dir=fake_cifar)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["test_accuracy"] == result["test_accuracy"]
    assert 0.0 <= saved["test_accuracy"] <= 1.0
    checkpoint = torch.load(tmp_path / "run" / "model.pt")
    assert TrainConfig.from_dict(checkpoint["config"]) == config
    model = build_model(config.model)
    model.load_state_dict(checkpoint["state_dict"])
    assert sum(p.numel() for p in model.parameters()) == checkpoint["n_params"]
    assert checkpoint["n_params"] == count_params(TINY.model)


def test_retraining_into_a_run_removes_the_evaluation_of_the_model_it_replaces(
    fake_cifar, tmp_path
):
    config = full_fidelity(TINY, epochs=1, train_subset=128)
    out = tmp_path / "run"
    retrain(config, prepare_out(out, config, False, CPU), data_dir=fake_cifar)
    evaluated = out / "evaluation.json", out / "confusion.png"  # what `search evaluate` writes
    for path in evaluated:
        path.write_text("the first model's scores")
    retrain(config, prepare_out(out, config, False, CPU), data_dir=fake_cifar)
    assert (out / "model.pt").is_file() and not [p for p in evaluated if p.exists()]


class Stop(Exception):
    pass


def test_a_resumed_retraining_counts_the_time_of_the_process_it_resumes(fake_cifar, tmp_path):
    config = full_fidelity(TINY, epochs=2, train_subset=128)

    def slow_then_stop(epoch, value, **_):
        time.sleep(1.0)  # after epoch 1 was saved: in the time saved with epoch 2
        if epoch == 2:
            raise Stop  # as if killed right after epoch 2 was saved

    out, tick = tmp_path / "run", time.perf_counter()
    with pytest.raises(Stop):
        retrain(config, prepare_out(out, config, False, CPU), slow_then_stop,
                data_dir=fake_cifar, precision="fp32")  # fmt: skip
    first, tick, scoring = time.perf_counter() - tick, time.perf_counter(), []
    result = retrain(config, prepare_out(out, config, True, CPU), data_dir=fake_cifar,
                     precision="fp32", progress=lambda *_: scoring.append(time.perf_counter()),
                     )  # fmt: skip
    trained = scoring[0] - tick  # the resumed process's time until its test scoring began
    assert trained + 0.5 < result["wall_s"] < first + trained  # both processes', not the last's
    assert json.loads((out / "metrics.json").read_text())["wall_s"] == result["wall_s"]


def test_retrain_tells_how_each_epoch_goes_batch_by_batch(fake_cifar, tmp_path):
    config = full_fidelity(TINY, epochs=2, train_subset=640)  # 5 batches of 128 an epoch
    heard = []
    retrain(config, prepare_out(tmp_path / "run", config, False, CPU), data_dir=fake_cifar,
            batches_done=lambda *step: heard.append(step))  # fmt: skip
    assert heard == [(epoch, done, 640) for epoch in (1, 2) for done in range(128, 641, 128)]


@pytest.mark.parametrize(
    ("model", "optim", "augment"),
    [
        (
            ModelConfig(stem_width=8, depths=(1, 2), widths=(8, 16), block="preact",
                        se_ratio=0.25, dropout=0.1, shortcut="pad", activation="silu",
                        stochastic_depth=0.2),
            OptimConfig(optimizer="adamw", lr=2e-3, weight_decay=0.05, label_smoothing=0.1,
                        batch_size=64),
            AugmentConfig(cutmix_prob=0.3, mixup_prob=0.5, policy="randaugment",
                          randaugment_ops=3, randaugment_magnitude=12),
        ),
        (
            ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16), shortcut="pad",
                        activation="elu", stochastic_depth=0.5),
            OptimConfig(nesterov=False, lr=0.05, batch_size=64),
            AugmentConfig(mixup_prob=1.0, mixup_alpha=0.2, policy="trivialaugment"),
        ),
    ],
    ids=["preact-adamw-randaugment", "basic-sgd-trivialaugment"],
)  # fmt: skip
def test_every_new_knob_trains_through_train(fake_cifar, model, optim, augment):
    config = TrainConfig(model=model, optim=optim, augment=augment, ema=0.9, epochs=2,
                         data=DataConfig(val_size=256, train_subset=512))  # fmt: skip
    reports = []
    metrics = train(config, lambda e, v, **m: reports.append(m), data_dir=fake_cifar)
    assert len(reports) == 2 and all(math.isfinite(m["train_loss"]) for m in reports)
    assert math.isfinite(metrics.val_loss) and 0.0 <= metrics.val_accuracy <= 1.0
    assert metrics.n_params == count_params(model)
