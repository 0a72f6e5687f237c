"""What each light command imports: `search --help`, `params`, `spaces`, `status` and `export`
start without torch and the other heavy libraries, loading only what they run (bench/startup.py
times them; a timed test would fail on a busy machine, not on a slow import)."""

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from trainers import ModelConfig, TrainConfig

ROOT = Path(__file__).resolve().parents[1]  # this checkout, whatever the environment installed
# each command runs `main()` in a fresh interpreter and then names the heavy modules it loaded
PROBE = """
import atexit, sys
HEAVY = {heavy!r}
atexit.register(lambda: print("LOADED", *sorted(m for m in HEAVY if m in sys.modules)))
sys.argv[0] = "search"
from search.cli import main
main()
"""
ALWAYS = ("torch", "torchvision", "ray", "matplotlib", "pandas", "optuna_dashboard")
STUDY_LIBRARIES = ("optuna", "sqlalchemy")


def loaded(cwd, *args: str) -> list[str]:
    """The heavy modules `search ARGS` had loaded when it exited (successfully)."""
    heavy = (*ALWAYS, *STUDY_LIBRARIES)
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=heavy), *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("LOADED"))
    return line.split()[1:]


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    """A directory whose search.db holds a study with one trial as `search run` records it."""
    where = tmp_path_factory.mktemp("startup")
    config = TrainConfig(model=ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16)))
    study = optuna.create_study(
        study_name="s", storage=f"sqlite:///{where / 'search.db'}", direction="maximize"
    )
    study.set_user_attr("space", "resnet_budget")
    trial = optuna.trial.create_trial(
        value=0.5, user_attrs={"config": config.to_dict(), "n_params": 5_000}
    )
    study.add_trial(trial)
    config_file = where / "model.yaml"
    config_file.write_text("model:\n  depths: [1, 1]\n  widths: [8, 16]\n")
    return where


def test_help_and_params_load_no_heavy_library_and_no_optuna(study_dir):
    assert loaded(study_dir, "--help") == []
    assert loaded(study_dir, "params", "model.yaml") == []
    assert loaded(study_dir, "params", "model.yaml", "--json") == []


def test_spaces_loads_optuna_but_no_torch(study_dir):
    assert loaded(study_dir, "spaces") == ["optuna"]


@pytest.mark.parametrize("command", [["status"], ["export", "-o", "best.yaml"]])
def test_status_and_export_load_the_storage_but_no_torch(study_dir, command):
    assert loaded(study_dir, command[0], "--study", "s", *command[1:]) == list(STUDY_LIBRARIES)


def test_the_packages_load_torch_backed_names_when_asked():
    code = (
        "import sys, trainers, search, storage, spaces\n"
        "assert 'torch' not in sys.modules and 'optuna' not in sys.modules, sorted(sys.modules)\n"
        "from trainers import build_model, resolve_device, Metrics\n"
        "from trainers.resnet import build_model as built\n"
        "assert build_model is built and 'torch' in sys.modules\n"
        "from trainers import train\n"
        "assert callable(train) and train.__module__ == 'trainers.loop', train\n"
        "for package in (trainers, search, storage):\n"
        "    for name in package.__all__:\n"
        "        getattr(package, name)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
