"""The `search` command end to end: the user's journey (bad inputs: test_bad_input.py)."""

import json
import shlex
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import torch
import yaml

from tests.conftest import QUICK, TINY_SPACE
from trainers import build_model, load_config


@pytest.mark.slow
def test_run_status_export_params_train_on_real_cifar10(tmp_path, cifar_dir):
    """The README's journey as a user types it, in a fresh directory, through the console script."""

    def search(*args):
        result = subprocess.run(
            [sys.executable, "-m", "search", *map(str, args)],
            cwd=tmp_path,
            text=True,
            capture_output=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr
        return result

    run_args = [
        "run",
        "--space",
        TINY_SPACE,
        "--study",
        "demo",
        "--trials",
        "3",
        "--epochs",
        "2",
        "--train-subset",
        "1000",
        "--val-size",
        "1000",
        "--data-dir",
        cifar_dir,
    ]
    first = search(*run_args)
    assert "fidelity: 2 epochs on 1,000 training images, validated on 1,000" in first.stderr
    assert "study 'demo' in sqlite:///search.db" in first.stderr
    assert "loading CIFAR-10 onto cpu ...\n" in first.stderr  # before the first trial
    assert "loading CIFAR-10 onto cpu: done in " in first.stderr
    assert "epoch 2  val acc" in first.stderr and "best: trial" in first.stdout
    again = search(*run_args)
    assert "3 trained trials so far; nothing to run" in again.stderr

    status = search("status").stdout  # the storage's only study, without --study
    assert "study 'demo'" in status and "COMPLETE" in status and "val acc" in status

    search("export", "--study", "demo", "-o", "best.yaml")
    exported = yaml.safe_load((tmp_path / "best.yaml").read_text())
    assert exported["provenance"]["study"] == "demo"
    assert exported["provenance"]["versions"]["torch"] == torch.__version__.split("+")[0]
    assert 0.1 < exported["metrics"]["val_accuracy"] <= 1.0

    counted = json.loads(search("params", "best.yaml", "--json").stdout)
    assert counted["n_params"] == exported["n_params"]

    trained = search(
        "train",
        "best.yaml",
        "--epochs",
        "1",
        "--train-subset",
        "1000",
        "--out",
        "run",
        "--data-dir",
        cifar_dir,
    )
    assert "test accuracy" in trained.stdout
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["n_params"] == exported["n_params"]
    assert metrics["test_accuracy"] > 0.1
    checkpoint = torch.load(tmp_path / "run" / "model.pt")
    model = build_model(load_config(tmp_path / "best.yaml").model)
    model.load_state_dict(checkpoint["state_dict"])
    assert sum(p.numel() for p in model.parameters()) == exported["n_params"]


def test_spaces_lists_what_each_space_samples(cli):
    result = cli("spaces")
    assert result.code == 0
    for name in ("resnet_budget", "stages", "budget_fraction", "lr", "schedule", "mix_prob"):
        assert name in result.out


def test_zoo_lists_the_designs_and_refuses_a_bad_budget(cli):
    result = cli("zoo", "--budget", "1000000")
    assert result.code == 0 and "published designs, tried first at budget 1,000,000" in result.out
    bad = cli("zoo", "--budget", "0")
    assert bad.code == 2 and "--budget must be 1 to" in bad.err


def test_export_writes_json_when_asked(cli, fake_cifar):
    assert (
        cli(
            "run",
            "--space",
            TINY_SPACE,
            "--study",
            "j",
            "--trials",
            "1",
            "--data-dir",
            fake_cifar,
            *QUICK,
        ).code
        == 0
    )
    assert cli("export", "--study", "j", "-o", "best.json").code == 0
    document = json.loads(Path("best.json").read_text())
    assert set(document) == {"config", "n_params", "metrics", "provenance"}
    assert load_config(Path("best.json")).data.train_subset == 256  # n_params checked too
    assert document["config"]["data"]["train_subset"] == 256


@pytest.mark.parametrize("name", ["../../escape", "/abs/escape", "s" * 300, "my study", "plain"])
def test_every_study_name_checkpoints_inside_the_checkpoint_root(cli, tmp_path, fake_cifar, name):
    args = ["--space", TINY_SPACE, "--study", name, "--trials", "1", "--data-dir", fake_cifar]
    result = cli("run", *args, *QUICK)
    assert result.code == 0, result.err
    (said,) = [line for line in result.err.splitlines() if line.startswith("checkpoints: ")]
    directory = Path(said.removeprefix("checkpoints: ")).absolute()
    assert directory.parent == (tmp_path / "search-checkpoints").absolute()
    assert directory.name == name if name == "plain" else name not in directory.name
    assert not directory.parent.exists()  # finished: no checkpoint, no empty folder left
    assert not (tmp_path.parent / "escape").exists() and not Path("/abs").exists()
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path}/search.db")
    assert study.best_trial.state.name == "COMPLETE"


@pytest.mark.slow
def test_a_run_trains_the_published_design_first_and_states_its_gain(cli, fake_cifar):
    args = ["run", "--study", "g", "--budget", "300000", "--trials", "2", "--epochs", "1",
            "--train-subset", "128", "--val-size", "128", "--data-dir", fake_cifar]  # fmt: skip
    result = cli(*args)
    assert result.code == 0, result.err
    assert "warm start: 1 published design first: ResNet-20 (0.27M)" in result.err
    said = " ".join(result.out.split())
    assert "vs best published design ResNet-20 " in said and " points" in said
    assert ", 128 images), " in said  # the best's standard error, on the 128 held-out images
    status = " ".join(cli("status", "--study", "g").out.split())
    assert "ResNet-20" in status and "vs best published design ResNet-20" in status
    cold = cli(*args[:2], "cold", *args[3:], "--no-warm-start")
    assert cold.code == 0 and "warm start" not in cold.err and "published" not in cold.out


def test_a_timed_run_stops_starting_trials_and_says_the_best(cli, fake_cifar):
    args = ["--space", TINY_SPACE, "--study", "t", "--data-dir", fake_cifar, *QUICK]
    # 5 s, set-up included: on a slow, loaded CPU 1 s could pass before the first trial started
    result = cli("run", *args, "--trials", "1000", "--timeout", "5")
    assert result.code == 0, result.err
    assert "running until 1000 or for 5 s" in " ".join(result.err.split())
    assert "time is up: no more trials start" in result.err and "best: trial " in result.out


SLOW_SPACE = """
import time
from trainers import ModelConfig, TrainConfig

time.sleep(1.5)  # imported once the run's clock has started: its 1 s is up before any trial

def space(trial):
    width = trial.suggest_categorical("width", [8, 16])
    model = ModelConfig(stem_width=width, depths=(1, 1), widths=(width, 2 * width))
    return TrainConfig(model=model)
"""


def test_a_run_out_of_time_before_any_trial_says_how_to_go_on(cli, tmp_path, fake_cifar):
    (tmp_path / "slow_space.py").write_text(SLOW_SPACE)
    args = ["--space", str(tmp_path / "slow_space.py"), "--study", "t", "--data-dir", fake_cifar]
    result = cli("run", *args, *QUICK, "--timeout", "1")
    assert result.code == 0, result.err
    assert "time is up: no more trials start" in result.err
    assert "no trial has completed yet: the same command goes on from here" in result.out
    export = cli("export", "-o", "best.yaml")  # the command that made it: storage, fidelity
    made = shlex.join(["search", "run", *map(str, args), *QUICK, "--timeout", "1"])
    assert export.code == 2 and not (tmp_path / "best.yaml").exists()
    said = "study 't' has no completed trial within budget yet; go on with the command that made"
    assert f"{said} it: {made}" in export.err
    assert cli("run", *args, *QUICK, "--trials", "1").code == 0
