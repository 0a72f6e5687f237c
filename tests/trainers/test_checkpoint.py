import dataclasses
import pickle
import time
import warnings

import pytest
import torch

from errors import UserError
from tests.trainers.conftest import SMALL
from trainers import AugmentConfig, ModelConfig, OptimConfig, TrainConfig
from trainers.checkpoint import check, load_file
from trainers.device import numerics
from trainers.loop import fit

CONFIG = TrainConfig(
    model=ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16), dropout=0.1),
    optim=OptimConfig(batch_size=64),
    data=SMALL,
    epochs=3,
)


def fp32(data):
    """The numerics `fit` trains `data` in by default, on its device."""
    return numerics(data.train_images.device, None)


class Stop(Exception):
    pass


EVERY_KNOB = dataclasses.replace(  # every random draw of the newer knobs resumes too
    CONFIG,
    model=dataclasses.replace(
        CONFIG.model, shortcut="pad", activation="silu", stochastic_depth=0.3
    ),
    optim=OptimConfig(batch_size=64, optimizer="adamw", lr=1e-3),
    augment=AugmentConfig(cutmix_prob=0.3, mixup_prob=0.4, policy="randaugment"),
)


NO_DROPOUT = dataclasses.replace(CONFIG, model=dataclasses.replace(CONFIG.model, dropout=0.0))


@pytest.mark.parametrize(
    ("config", "compile"),
    [
        (dataclasses.replace(CONFIG, augment=AugmentConfig(cutmix_prob=0.5)), False),
        (dataclasses.replace(CONFIG, augment=AugmentConfig(cutmix_prob=0.5), ema=0.9), False),
        (EVERY_KNOB, False),
        pytest.param(NO_DROPOUT, True, marks=pytest.mark.slow),  # compiling takes seconds
    ],
    ids=["cutmix", "cutmix-ema", "every-knob", "compiled"],
)
def test_a_resumed_run_ends_exactly_as_an_uninterrupted_one(
    data, tmp_path, config, compile, monkeypatch
):
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)  # on CUDA: see README
    straight, straight_metrics = fit(config, data, checkpoint=tmp_path / "a.pt", compile=compile)

    def stop_after_two(epoch, value, **_):
        if epoch == 2:
            raise Stop  # as if killed right after epoch 2 was saved

    with pytest.raises(Stop):
        fit(config, data, stop_after_two, checkpoint=tmp_path / "b.pt", compile=compile)
    assert check(tmp_path / "b.pt", config, fp32(data)) == 2
    reports = []
    resumed, resumed_metrics = fit(
        config, data, lambda e, v, **m: reports.append((e, v, m)), checkpoint=tmp_path / "b.pt",
        compile=compile,
    )  # fmt: skip
    assert [e for e, _, _ in reports] == [1, 2, 3]  # the first two replayed from the file
    assert "images_per_s" not in reports[0][2] and "images_per_s" in reports[2][2]
    assert resumed_metrics.val_accuracy == straight_metrics.val_accuracy
    assert resumed_metrics.val_loss == straight_metrics.val_loss
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_a_resumed_run_counts_the_time_of_the_process_it_resumes(data, tmp_path):
    def slow_then_stop(epoch, value, **_):
        time.sleep(1.0)  # after epoch 1 was saved: in the time saved with epoch 2
        if epoch == 2:
            raise Stop

    tick = time.perf_counter()
    with pytest.raises(Stop):
        fit(CONFIG, data, slow_then_stop, checkpoint=tmp_path / "b.pt")
    first, tick = time.perf_counter() - tick, time.perf_counter()
    _, metrics = fit(CONFIG, data, checkpoint=tmp_path / "b.pt")
    second = time.perf_counter() - tick
    assert second + 1.0 < metrics.wall_s < first + second  # both processes', not the last's


def test_a_finished_checkpoint_reports_and_returns_without_training(data, tmp_path):
    _, first = fit(CONFIG, data, checkpoint=tmp_path / "c.pt")
    reports = []
    _, again = fit(CONFIG, data, lambda e, v, **m: reports.append(e), checkpoint=tmp_path / "c.pt")
    assert reports == [1, 2, 3] and again.val_accuracy == first.val_accuracy


def test_truncated_foreign_and_mismatched_checkpoints_are_refused(data, tmp_path):
    path = tmp_path / "c.pt"
    one_epoch = dataclasses.replace(CONFIG, epochs=1)
    fit(one_epoch, data, checkpoint=path)
    with pytest.raises(UserError, match=r"written for another config \(epochs differs\)"):
        check(path, CONFIG, fp32(data))
    wider = dataclasses.replace(CONFIG.model, widths=(8, 24))
    with pytest.raises(UserError, match=r"model\.widths differs"):
        fit(dataclasses.replace(one_epoch, model=wider), data, checkpoint=path)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(UserError, match="is truncated or not a checkpoint"):
        check(path, CONFIG, fp32(data))
    torch.save({"something": 1}, path)
    with pytest.raises(UserError, match="not a checkpoint of this program"):
        check(path, CONFIG, fp32(data))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_a_checkpoint_resumes_only_in_the_numerics_it_was_written_in(data, tmp_path, dtype):
    """fp32's run has no loss scaler to restore in fp16, and bf16 would go on another way."""
    path, one_of_two = tmp_path / "c.pt", dataclasses.replace(CONFIG, epochs=2)

    def stop_after_one(epoch, value, **_):
        if epoch == 1:
            raise Stop

    with pytest.raises(Stop):
        fit(one_of_two, data, stop_after_one, checkpoint=path)
    device = data.train_images.device
    other = numerics(device, dtype)
    on = f"on {device.type} in"
    written = rf"written training {on} fp32, not {on} {other['precision']}; allowed: resuming it "
    with pytest.raises(UserError, match=written + f"with --device {device.type} --precision fp32"):
        check(path, one_of_two, other)
    with pytest.raises(UserError, match=written):
        fit(one_of_two, data, dtype=dtype, checkpoint=path)
    assert check(path, one_of_two, fp32(data)) == 1  # in its own numerics it resumes


def test_a_file_of_other_objects_is_refused_without_torchs_advice_to_load_it_unsafely(tmp_path):
    path = tmp_path / "objects.pt"
    torch.save({"weights": object}, path)
    with pytest.raises(UserError, match="holds more than tensors and plain data") as err:
        load_file(path, "model file", {"weights"})
    assert "weights_only" not in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "content",
    [pickle.dumps({"weights": 1}, protocol=4), b"weights: 1\n", b"", b"PK\x03\x04 cut"],
    ids=["pickle", "yaml", "empty", "zip-header"],
)
def test_a_file_torch_save_did_not_write_is_one_line_without_torchs_warnings(tmp_path, content):
    path = tmp_path / "x.pkl"  # what a user passes for a run: an input pickle, an export
    path.write_bytes(content)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warned of the pickle protocol, in two lines
        with pytest.raises(UserError) as err:
            load_file(path, "model file", {"weights"}, "allowed: a run")
    assert str(err.value) == (
        f"{path} is truncated or not a model file (not a file torch.save wrote); allowed: a run"
    )
