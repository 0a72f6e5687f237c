import optuna
import pytest
from optuna.trial import TrialState

from search.training import train_trial
from search.trial import RESUME_ERROR, RESUMED_FROM_EPOCH
from trainers import DataConfig, ModelConfig, OptimConfig, TrainConfig
from trainers.loop import train

CONFIG = TrainConfig(
    model=ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16)),
    optim=OptimConfig(batch_size=64),
    data=DataConfig(val_size=128, train_subset=256),
    epochs=2,
)


class Stop(Exception):
    pass


def stop_after_one(epoch, value, **_):
    if epoch == 1:
        raise Stop  # as if the worker died right after epoch 1 was saved


@pytest.mark.parametrize(("precision", "resumes"), [("fp32", True), ("bf16", False)])
def test_a_retry_resumes_a_checkpoint_of_its_numerics_and_starts_over_from_others(
    fake_cifar, tmp_path, precision, resumes
):
    """A retry on a worker that trains in another precision (another kind of GPU, another
    --precision) cannot go on exactly as the run would have: it starts over, saying why."""
    checkpoint = tmp_path / "trial-0.pt"
    with pytest.raises(Stop):
        train(CONFIG, stop_after_one, data_dir=fake_cifar, device="cpu", precision="fp32",
              checkpoint=checkpoint)  # fmt: skip
    study = optuna.create_study(direction="maximize")
    kwargs = {"data_dir": fake_cifar, "device": "cpu", "precision": precision}
    outcome = train_trial(study.ask(), CONFIG, train, kwargs, checkpoint)
    assert outcome.state == TrialState.COMPLETE and not checkpoint.exists()
    attrs = study.trials[0].user_attrs
    if resumes:
        assert attrs[RESUMED_FROM_EPOCH] == 1 and RESUME_ERROR not in attrs
    else:
        assert RESUMED_FROM_EPOCH not in attrs
        assert attrs[RESUME_ERROR] == (
            f"checkpoint {checkpoint} was written training on cpu in fp32, not on cpu in bf16; "
            "allowed: resuming it with --device cpu --precision fp32, or starting elsewhere"
        )
