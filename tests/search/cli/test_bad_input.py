"""Every bad input the `search` command can be given: one line, exit code 2, nothing written."""

import dataclasses
import shutil
import sqlite3
import subprocess
import sys

import optuna
import pytest
import torch
import yaml

from tests.conftest import QUICK, TINY_SPACE
from trainers import ModelConfig, TrainConfig
from trainers.retrain import full_fidelity


def trial_count(path):
    with sqlite3.connect(path) as db:
        return db.execute("select count(*) from trials").fetchone()[0]


BAD_INPUTS = [
    (["run", "--space", "nope"], "unknown space 'nope'; allowed: resnet_budget"),
    (["run", "--space", "empty.py"], "defines no search space"),
    (["run", "--budget", "0"], "--budget must be 1 to 10,000,000,000 parameters, got 0"),
    (["run", "--budget", "-5"], "--budget must be 1 to 10,000,000,000 parameters, got -5"),
    (["run", "--trials", "0"], "--trials must be 1 to 1,000,000, got 0"),
    (["run", "--budget", "1000"], "--budget 1,000 is below every model of space"),
    (["run", "--pruner", "asha"], "unknown pruner 'asha'; allowed: sha, hyperband, median, none"),
    (["run", "--storage", "postgresql://u:pw@127.0.0.1:1/x"], "unreachable"),
    (["run", "--storage", "sqlite:////no/such/dir/x.db"], "directory /no/such/dir does not exist"),
    (["run", "--data-dir", "missing"], "--data-dir missing: no CIFAR-10 there"),
    (["run", "--epochs", "0"], "--epochs must be 1 to 10,000, got 0"),
    (["run", "--train-subset", "49500"], "--train-subset must be 0 (all) to 49,000"),
    (["run", "--device", "tpu"], "unknown device 'tpu'; allowed: cpu"),
    (["run", "--device", "cuda:7"], "no device 'cuda:7'; allowed: cpu"),
    (["run", "--seed", "-1"], "--seed must be 0 to 4,294,967,295, got -1"),
    (["run", "--val-size", "50000"], "--val-size must be 1 to 49,999, got 50000"),
    (["run", "--data-dir", "partial"], "--data-dir partial: no CIFAR-10 there"),
    (["run", "--precision", "fp8"], "unknown precision 'fp8'; allowed: auto"),
    (["status", "--study", "nope"], "no study 'nope' in sqlite:///search.db ("),
    (["export", "--study", "nope"], "no study 'nope'"),
    (["status"], "--study is needed: sqlite:///search.db ("),  # the file holds several
    (["export", "--study", "ok", "-o", "nodir/best.yaml"], "-o nodir/best.yaml: cannot write it"),
    (["params", "dup.yaml"], "dup.yaml is not valid YAML or JSON at line 2, column 1: key 'epo"),
    (["status", "--study", "plain"], "study 'plain' was not made by `search run` (it records no"),
    (["report", "--study", "multi"], "study 'multi' has 2 objectives; allowed: a study of one"),
    (["export", "--study", "multi"], "study 'multi' has 2 objectives; allowed"),
    (["run", "--study", "plain"], "'plain' was not made by `search run` (it records no space); "),
    (["run", "--study", "multi"], "study 'multi' has 2 objectives; allowed"),
    (["status", "--study", "ok", "--storage", "sqlite:///other.db"], "no such file"),
    (["status", "--storage", "mysql://u@127.0.0.1/x"], "driver is not installed (MySQLdb)"),
    (["status", "--storage", "postgresql://u:s3c@pw@127.0.0.1/x"], "://***@127.0.0.1/x: its user"),
    (["run", "--storage", "mysql://u@127.0.0.1/x"], "driver is not installed (MySQLdb)"),
    (["params", "bad.yaml"], "bad.yaml is not valid YAML or JSON at line"),
    (["params", "unknown.yaml"], "unknown key 'model.widthz'; allowed: stem_width"),
    (["params", "wrongtype.yaml"], "model.depths[0] must be an integer, got 'two'"),
    (["params", "missing.yaml"], "cannot read config missing.yaml"),
    (["params", "binary.pt"], "cannot read config binary.pt: not a text file"),
    (["params", "momentum.yaml"], "optim.momentum must be in (0, 1), got 0.0"),
    (["train", "bad.yaml"], "bad.yaml is not valid YAML or JSON"),
    (["train", "unknown.yaml", "--epochs", "0"], "--epochs must be 1 to 10,000, got 0"),
    (["train", "tiny.yaml", "--epochs", "10" + "0" * 22], "--epochs must be 1 to 10,000, got 1"),
    (["run", "--storage", "sqlite:////proc/x.db"], "cannot open or create the SQLite file"),
    (["run", "--checkpoint-dir", "binary.pt"], "(--checkpoint-dir) binary.pt/new: cannot create"),
    (["run", "--checkpoint-dir", "binary.pt", "--storage", "sqlite:///x.db"], "binary.pt/new"),
    (["run", "--heartbeat", "0"], "--heartbeat must be 1 to 3,600 seconds, got 0"),
    (["run", "--timeout", "0"], "--timeout must be 1 to 31,622,400 seconds, got 0"),
    (["run", "--timeout", "10m"], "Invalid value for '--timeout'"),
    (["run", "--workers", "0"], "--workers must be 1 to 10,000, got 0"),
    (["run", "--ray-address", "127.0.0.1:1"], "127.0.0.1:1: no Ray head answers there: Conn"),
    (["run", "--ray-address", "not an address"], "not an address: not HOST:PORT; allowed"),
    (
        ["run", "--workers", "2", "--epochs", "0"],
        "--epochs must be 1 to 10,000, got 0",
    ),  # before Ray
    (["run", "--workers", "2", "--train-subset", "-1"], "--train-subset must be 0 (all) to"),
    (["run", "--workers", "2", "--storage", "sqlite://"], "in memory, which Ray workers cannot"),
    (["run", "--workers", "2", "--cpus-per-trial", "-1"], "--cpus-per-trial -1; allowed: more"),
    (["run", "--workers", "2", "--gpus-per-trial", "nan"], "--gpus-per-trial nan; allowed: 0 or"),
    (["run", "--trials-per-gpu", "0"], "--trials-per-gpu must be 1 to 64, got 0"),
    (["run", "--trials-per-gpu", "2", "--gpus-per-trial", "0.5"], "give one of them"),
    (["run", "--trials-per-gpu", "2", "--device", "cpu"], "trials on the CPU hold no GPU"),
    (["run", "--cuda-graphs", "--compile"], "--cuda-graphs and --compile: give one of them"),
    (["run", "--cuda-graphs", "--device", "cpu"], "--cuda-graphs on cpu; allowed: a CUDA device"),
    (["train", "tiny.yaml", "--cuda-graphs", "--device", "cpu"], "--cuda-graphs on cpu; allowed"),
    (["run", "--study", "minimized"], "study 'minimized' minimizes; allowed: a study that max"),
    (["train", "tiny.yaml", "--resume", "--out", "fresh"], "--resume: no checkpoint.pt in fresh"),
    (["train", "tiny.yaml", "--resume", "--out", "cut"], "is truncated or not a checkpoint"),
    (["train", "tiny.yaml", "--resume", "--out", "other"], "another config (model.widths differs)"),
    (["train", "tiny.yaml", "--resume", "--out", "foreign"], "not a checkpoint of this program"),
    (
        ["train", "tiny.yaml", "--resume", "--out=fp16", "--precision=fp32", "--device=cpu"],
        "in fp16, not on cpu in fp32; allowed: resuming it with --device cpu --precision fp16",
    ),
    # issue 12: what an adversarial user tried
    (
        ["run", "--space", "raises.py"],
        "raises.py raised ZeroDivisionError when imported",
    ),
    (["run", "--space", "multiline.py"], "raised ValueError when imported: first line second"),
    (
        ["run", "--space", "backwards.py"],
        "every one of 200 random trials (the first, {}: ValueError",
    ),
    (["run", "--space", "dict.py"], "200 random trials (the first, {'w': 8}: space 'space' ret"),
    (["run", "--space", "lr.py"], "200 random trials (the first, {}: optim.lr must be"),
    (["run", "--heartbeat", "99999999999"], "--heartbeat must be 1 to 3,600 seconds, got 999"),
    (["run", "--budget", "10000000001"], "--budget must be 1 to 10,000,000,000 parameters"),
    (["run", "--budget", "abc"], "Invalid value for '--budget': Input should be a valid integer"),
    (["run", "--trials", "2.5"], "Invalid value for '--trials'"),
    (["run", "--nope"], "No such option: --nope (Possible options: --compile, --space)"),
    (["nope"], "No such command 'nope'. (see `search --help`)"),
    (["run", "--storage", ""], "--storage must not be empty; allowed: a SQLAlchemy URL"),
    (["status", "--study", "ok", "--storage", " "], "--storage must not be empty"),
    (["run", "--study", ""], "--study must be 1 to 512 characters, got 0"),
    (["run", "--study", "x" * 513], "--study must be 1 to 512 characters, got 513"),
    (["run", "--device", "cpu:1"], "unknown device 'cpu:1'; allowed: cpu"),
    (["train", "tiny.yaml", "--out", "L" * 300], "a name in it is too long; allowed: names of at"),
    (["status", "--storage", f"sqlite:///{'L' * 300}.db"], f"{'L' * 300}.db: a name in it is too"),
    (["report", "--study", "ok", "--out", "L" * 300], f"{'L' * 300}: a name in it is too long"),
]

SPACE_FILES = {  # user space files that fail before the study starts
    "raises.py": "1 / 0\n",
    "multiline.py": "raise ValueError('first line\\nsecond line')\n",
    "backwards.py": "def space(trial):\n    return trial.suggest_int('depth', 5, 1)\n",
    "dict.py": "def space(trial):\n    return {'width': trial.suggest_int('w', 8, 8)}\n",
    "lr.py": "from trainers import ModelConfig, OptimConfig, TrainConfig\n\n\ndef space(trial):\n"
    "    model = ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16))\n"
    "    return TrainConfig(model=model, optim=OptimConfig(lr=1e300))\n",
}

TINY = TrainConfig(model=ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16)))
FP16 = {
    "device": "cpu",
    "precision": "fp16",
}  # a checkpoint's numerics (`trainers.device.numerics`)


def write_checkpoints(where):
    """OUT directories of `search train` runs that cannot be resumed with tiny.yaml."""
    (where / "tiny.yaml").write_text(yaml.safe_dump(TINY.to_dict()))
    other = dataclasses.replace(TINY, model=dataclasses.replace(TINY.model, widths=(8, 32)))
    other = full_fidelity(other)  # as `search train` trains it
    for name, state in [
        ("cut", {"format": 1, "config": TINY.to_dict(), "padding": torch.zeros(1000)}),
        ("other", {"format": 1, "config": other.to_dict()}),
        ("foreign", {"weights": torch.zeros(3)}),
        ("fp16", {"format": 1, "config": full_fidelity(TINY).to_dict(), "numerics": FP16}),
    ]:
        (where / name).mkdir()
        torch.save(state, where / name / "checkpoint.pt")
    data = (where / "cut" / "checkpoint.pt").read_bytes()
    (where / "cut" / "checkpoint.pt").write_bytes(data[: len(data) // 2])


@pytest.fixture(scope="module")
def ok_study(tmp_path_factory, fake_cifar):
    """A storage holding one finished study, 'ok', for the bad inputs to leave untouched."""
    where = tmp_path_factory.mktemp("ok")
    args = [
        "run",
        "--space",
        TINY_SPACE,
        "--study",
        "ok",
        "--trials",
        "1",
        "--data-dir",
        fake_cifar,
        *QUICK,
    ]
    subprocess.run(
        [sys.executable, "-m", "search", *map(str, args)],
        cwd=where,
        check=True,
        capture_output=True,
    )
    url = f"sqlite:///{where / 'search.db'}"
    optuna.create_study(storage=url, study_name="minimized", direction="minimize")
    plain = optuna.create_study(storage=url, study_name="plain", direction="maximize")
    plain.add_trial(optuna.trial.create_trial(value=0.5))  # another program's study
    optuna.create_study(storage=url, study_name="multi", directions=["maximize", "minimize"])
    # The file is in WAL mode and Optuna's pooled connection stays open: until a checkpoint,
    # the new study lies in search.db-wal, which the tests' copy of search.db would lose.
    with sqlite3.connect(where / "search.db") as connection:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert not busy
    return where / "search.db"


@pytest.mark.parametrize(
    ("args", "message"), BAD_INPUTS, ids=[" ".join(a)[:100] for a, _ in BAD_INPUTS]
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    cli, tmp_path, fake_cifar, ok_study, args, message
):
    shutil.copy(ok_study, tmp_path / "search.db")
    before = trial_count(tmp_path / "search.db")
    (tmp_path / "empty.py").write_text("x = 1\n")
    for name, text in SPACE_FILES.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "bad.yaml").write_text("model: [1, 2\n")
    (tmp_path / "dup.yaml").write_text("epochs: 1\nepochs: 5\n")
    (tmp_path / "unknown.yaml").write_text("model:\n  widthz: 3\n")
    (tmp_path / "wrongtype.yaml").write_text("model:\n  depths: [two, 2]\n  widths: [8, 8]\n")
    (tmp_path / "momentum.yaml").write_text("optim:\n  momentum: 0\n")
    (tmp_path / "binary.pt").write_bytes(bytes(range(256)))
    (tmp_path / "partial" / "cifar-10-batches-py").mkdir(parents=True)
    (tmp_path / "partial" / "cifar-10-batches-py" / "test_batch").write_bytes(b"")
    write_checkpoints(tmp_path)
    if args[0] == "run" and "--data-dir" not in args:
        args = [*args, "--data-dir", str(fake_cifar)]
    if args[0] == "run" and "--study" not in args:
        args = [*args, "--study", "new"]
    result = cli(*args)
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("error: "), result.err
    assert message in lines[0]
    assert "Traceback" not in result.err and "pw@" not in result.err
    assert trial_count(tmp_path / "search.db") == before
    assert "new" not in result.out
    assert not (tmp_path / "other.db").exists() and not (tmp_path / "x.db").exists()


def test_debug_shows_the_traceback_and_exits_2_as_without_it(cli):
    result = cli("--debug", "run", "--budget", "0")
    assert result.code == 2
    assert "Traceback" in result.err and "errors.UserError: --budget must be" in result.err
    assert result.err.rstrip().splitlines()[-1].startswith("error: --budget must be")
