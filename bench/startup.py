"""Start-up time of the commands a newcomer types first, each in a fresh interpreter.

python bench/startup.py [--repeat 5]

Times `search --help`, `spaces`, `params`, `status` and `export` on a study of 25 trials (made
here, in a temporary directory), and two floors: Python doing nothing, and Optuna alone opening
the same SQLite storage, loading the study and reading its trials (what `status` cannot avoid).
Prints the median wall time and the median CPU time (user + system) of each; on a shared machine
the CPU time is the steadier figure. The code timed is whatever `python -m search` imports (set
PYTHONPATH to time another checkout).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

from search.fidelity import default_fidelity
from search.study import Search
from trainers import ModelConfig, TrainConfig, count_params, resolve_device

OPTUNA_ALONE = (
    "import optuna; optuna.load_study(study_name='demo', storage='sqlite:///search.db')"
    ".get_trials()"
)
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "optuna alone: load the study and its trials": [sys.executable, "-c", OPTUNA_ALONE],
    "search --help": [sys.executable, "-m", "search", "--help"],
    "search spaces": [sys.executable, "-m", "search", "spaces"],
    "search params best.yaml": [sys.executable, "-m", "search", "params", "best.yaml"],
    "search status --study demo": [sys.executable, "-m", "search", "status", "--study", "demo"],
    "search export --study demo": [sys.executable, "-m", "search", "export", "--study", "demo"],
}


def make_study(where: Path, trials: int = 25) -> None:
    """A study as `search run` records it: each trial's config and parameter count."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name="demo", storage=f"sqlite:///{where / 'search.db'}", direction="maximize"
    )
    search = Search("resnet_budget", 5_000_000, default_fidelity(resolve_device("cpu")))
    for key, value in search.attrs().items():  # what `status` and `export` ask of a study
        study.set_user_attr(key, value)
    for i in range(trials):
        model = ModelConfig(stem_width=8 * (1 + i % 4), depths=(1, 1), widths=(16, 32))
        config = TrainConfig(model=model)
        attrs = {"config": config.to_dict(), "n_params": count_params(model)}
        study.add_trial(optuna.trial.create_trial(value=0.5 + i / 100, user_attrs=attrs))
    (where / "best.yaml").write_text("model:\n  depths: [2, 2]\n  widths: [16, 32]\n")


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `command`, which must succeed."""
    before = os.times()
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        make_study(where)
        print(f"{'command':<46} {'wall s':>7} {'cpu s':>7}   (median of {args.repeat})")
        for name, command in COMMANDS.items():
            runs = [timed(command, where) for _ in range(args.repeat)]
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            print(f"{name:<46} {wall:>7.2f} {cpu:>7.2f}")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
