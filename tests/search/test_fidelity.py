"""The fidelity a trial trains at: chosen by device, overridable knob by knob, and said plainly
when it is low."""

import pytest
import torch

from errors import UserError
from search.fidelity import Fidelity, default_fidelity
from trainers import DataConfig, TrainConfig


def test_a_gpu_trains_every_image_for_30_epochs_and_validates_on_5000():
    assert default_fidelity(torch.device("cuda")) == Fidelity(30, 0, 5_000)
    assert default_fidelity(torch.device("cuda")).caveat() is None


def test_a_cpu_trains_the_fidelity_that_ranked_best_per_minute():
    # BENCHMARKS.md, "Choosing the CPU fidelity": of six candidates, the one whose ranking of
    # 16 configs agreed best with a run 12 times longer (Spearman 0.90; 2 x 1,000 gave 0.69)
    assert default_fidelity(torch.device("cpu")) == Fidelity(2, 2_000, 1_000)


def test_each_knob_given_replaces_only_its_default():
    cpu = default_fidelity(torch.device("cpu"))
    assert default_fidelity(torch.device("cpu"), epochs=7) == Fidelity(7, cpu.train_subset,
                                                                        cpu.val_size)  # fmt: skip
    assert default_fidelity(torch.device("cuda"), train_subset=500) == Fidelity(30, 500, 5_000)
    assert default_fidelity(torch.device("cuda"), val_size=100).val_size == 100
    # a default fits what is given: no error about a --train-subset the user never gave
    assert default_fidelity(torch.device("cpu"), val_size=49_500) == Fidelity(2, 500, 49_500)


def test_the_cpu_default_says_it_is_low_and_what_a_gpu_changes():
    said = default_fidelity(torch.device("cpu")).caveat()
    assert said.startswith("low fidelity: ")
    assert "30 epochs on all 45,000" in said and "search train" in said
    assert Fidelity(10, 0, 5_000).caveat() is None  # a third of a GPU trial's images: not low
    assert "0.3% of what it gets" in said  # 2 epochs on 2,000 of 30 on 45,000
    assert "0.022% of what" in Fidelity(1, 300, 1_000).caveat()  # small, not "0.0%"


@pytest.mark.parametrize(
    ("knobs", "says"),
    [((0, 0, 5_000), "--epochs must be 1 to 10,000"), ((1, 0, 50_000), "--val-size must be 1 to"),
     ((1, 49_000, 5_000), "--train-subset must be 0 (all) to 45,000")],
)  # fmt: skip
def test_a_bad_knob_is_a_user_error_naming_it(knobs, says):
    with pytest.raises(UserError, match=says.replace("(", r"\(").replace(")", r"\)")):
        Fidelity(*knobs)


def test_a_trial_always_validates_on_held_out_images():
    """A space that merges the validation images into training would leave the trial no
    accuracy: its NaN was told to Optuna, which failed it without a reason."""
    merged = TrainConfig(data=DataConfig(merge_val=True))
    applied = Fidelity(2, 1_000, 500).apply(merged)
    assert not applied.data.merge_val
    assert (applied.data.train_subset, applied.data.val_size, applied.epochs) == (1_000, 500, 2)
