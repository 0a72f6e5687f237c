"""`search train`, `evaluate`, `predict`: an exported config to a submission, and bad inputs."""

import csv
import io
import pickle
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import redirect_stderr

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from search import RunOptions, run_search
from tests.search.cli.bad_files import TINY, write_bad_files
from tests.search.standins import standin_train
from trainers import count_params
from trainers.config import RETRAIN_EPOCHS
from trainers.evaluation import save_run
from trainers.resnet import build_model


def search(*args, cwd, check=True):
    result = subprocess.run(
        [sys.executable, "-m", "search", *map(str, args)],
        cwd=cwd, text=True, capture_output=True, timeout=600,
    )  # fmt: skip
    if check:
        assert result.returncode == 0, result.stderr
    return result


def write_inputs(where, images):
    """The same images as a N x 32 x 32 x 3 pickle, a N x 3072 pickle and a folder of PNGs."""
    ids = np.arange(1000, 1000 + len(images))
    with open(where / "nhwc.pkl", "wb") as f:
        pickle.dump({b"data": images, b"ids": ids}, f)
    with open(where / "planar.pkl", "wb") as f:
        planar = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
        pickle.dump({b"data": planar, b"ids": ids}, f)
    (where / "pngs").mkdir()
    for i, image in enumerate(images):  # 0.png, 1.png, ... 10.png: natural order, not 0, 1, 10
        Image.fromarray(image).save(where / "pngs" / f"{i}.png")


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["ID", "Labels"]
    return rows[1:]


@pytest.mark.slow
def test_train_interrupted_resumed_evaluated_and_predicted_on_real_cifar10(
    tmp_path, cifar_dir, spawn
):
    (tmp_path / "best.yaml").write_text(
        yaml.safe_dump({"config": TINY.to_dict(), "n_params": count_params(TINY.model)})
    )
    args = ["train", "best.yaml", "--epochs", "2", "--train-subset", "8000", "--ema", "0.99",
            "--tta", "--data-dir", cifar_dir]  # fmt: skip
    straight = search(*args, "--out", "straight", cwd=tmp_path)
    assert "test accuracy" in straight.stdout and "with TTA" in straight.stdout
    assert "scoring the test set, then with TTA: done in " in straight.stderr
    assert "loading CIFAR-10 onto cpu: done in " in straight.stderr

    run = spawn(*args, "--out", "cut", cwd=tmp_path, stdout=None)  # as from a terminal
    checkpoint = tmp_path / "cut" / "checkpoint.pt"
    said = []
    for line in run.stderr:  # the line is written once epoch 1 is saved, before epoch 2 starts
        said.append(line)
        if line.startswith("epoch 1/2"):
            break
    sent = time.monotonic()
    run.send_signal(signal.SIGINT)  # Ctrl-C during epoch 2
    err = "".join(said) + run.stderr.read()
    run.wait(timeout=120)
    assert run.returncode == 130, f"{time.monotonic() - sent:.1f} s after the signal:\n{err}"
    assert not (tmp_path / "cut" / "model.pt").exists()
    hint = shlex.split(err.split("interrupted; go on with: ")[1].splitlines()[0])
    assert hint == ["search", *map(str, args), "--out", "cut", "--resume"]  # the same config
    resumed = search(*hint[1:], cwd=tmp_path)  # as the hint says
    replayed = [line for line in resumed.stderr.splitlines() if line.startswith("epoch 1/2")]
    assert len(replayed) == 1 and replayed[0].endswith("(from the checkpoint)"), replayed
    assert "epoch 2/2" in resumed.stderr and " 0 img/s" not in resumed.stderr
    assert "for 2 epochs on 8,000 images" in resumed.stderr and " left\n" in resumed.stderr
    assert not checkpoint.exists()  # done: model.pt holds the weights

    metrics = {name: yaml.safe_load((tmp_path / name / "metrics.json").read_text())
               for name in ("straight", "cut")}  # fmt: skip
    assert metrics["cut"]["n_params"] == count_params(TINY.model)
    assert len(metrics["cut"]["history"]) == 2
    for key in ("test_accuracy", "test_tta_accuracy", "val_accuracy"):
        assert metrics["cut"][key] == metrics["straight"][key], key  # resumed exactly
    assert metrics["cut"]["test_accuracy"] > 0.2  # it learned: 10 classes
    assert (tmp_path / "cut" / "curves.png").stat().st_size > 10_000

    evaluated = search("evaluate", "cut", "--data-dir", cifar_dir, cwd=tmp_path)
    assert "test set, then with TTA ...\n" in evaluated.stderr  # before it takes long
    assert "loading CIFAR-10 onto cpu: done in " in evaluated.stderr
    assert "then with TTA: done in " in evaluated.stderr
    assert "airplane" in evaluated.stdout and "truck" in evaluated.stdout
    figures = yaml.safe_load((tmp_path / "cut" / "evaluation.json").read_text())
    assert figures["tta"]["accuracy"] == pytest.approx(metrics["cut"]["test_tta_accuracy"])
    assert sum(map(sum, figures["plain"]["confusion"])) == 10_000
    assert (tmp_path / "cut" / "confusion.png").stat().st_size > 10_000

    rng = np.random.default_rng(0)
    write_inputs(tmp_path, rng.integers(0, 256, (23, 32, 32, 3), dtype=np.uint8))
    outputs = {}
    for name in ("nhwc.pkl", "planar.pkl", "pngs"):
        search("predict", "cut", "--input", name, "-o", f"{name}.csv", cwd=tmp_path)
        outputs[name] = read_csv(tmp_path / f"{name}.csv")
    assert [row[0] for row in outputs["nhwc.pkl"]] == [str(1000 + i) for i in range(23)]
    assert [row[0] for row in outputs["pngs"]] == [str(i) for i in range(23)]
    labels = [[row[1] for row in rows] for rows in outputs.values()]
    assert labels[0] == labels[1] == labels[2]  # one image, one answer, whatever the layout
    assert all(0 <= int(label) <= 9 for label in labels[0])


@pytest.fixture
def run_dir(tmp_path):
    """A saved run of the tiny config (untrained weights: predict only needs a model)."""
    torch.manual_seed(0)
    save_run(tmp_path / "model.pt", TINY, build_model(TINY.model))
    return tmp_path


def test_predict_reads_both_pickle_layouts_and_folders_in_order(cli, run_dir):
    images = np.random.default_rng(1).integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    write_inputs(run_dir, images)
    results = []
    for name in ("nhwc.pkl", "planar.pkl", "pngs"):
        assert cli("predict", ".", "--input", name, "-o", f"{name}.csv", "--no-tta").code == 0
        results.append(read_csv(run_dir / f"{name}.csv"))
    assert [r[0] for r in results[2]] == [str(i) for i in range(12)]
    assert [r[1] for r in results[0]] == [r[1] for r in results[1]] == [r[1] for r in results[2]]


def test_predict_reads_numpy_pickles_of_every_protocol_and_layout(cli, run_dir):
    images = np.random.default_rng(2).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    planar = images.transpose(0, 3, 1, 2).reshape(5, 3072)
    layouts = [
        {b"data": images, b"ids": np.arange(7, 12)},
        {"data": planar, "ids": [f"img{i}" for i in range(7, 12)]},
        {b"data": list(images), b"ids": np.array([b"a", b"b", b"c", b"d", b"e"])},
        {"data": np.asfortranarray(planar), "ids": tuple(np.arange(7, 12, dtype=np.int32))},
    ]
    labels = set()
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        for i, document in enumerate(layouts):
            (run_dir / "in.pkl").write_bytes(pickle.dumps(document, protocol=protocol))
            result = cli("predict", ".", "--input", "in.pkl", "-o", "out.csv", "--no-tta")
            assert result.code == 0, (protocol, i, result.err)
            rows = read_csv(run_dir / "out.csv")
            assert len(rows) == 5
            labels.add(tuple(row[1] for row in rows))
    assert len(labels) == 1  # the same images, the same answers, however they were pickled


def test_predict_help_warns_that_pickles_can_run_code(cli):
    assert "can run code" in " ".join(cli("predict", "--help").out.split())


@pytest.fixture(scope="module")
def study_db(tmp_path_factory, fake_cifar):
    """A SQLite file holding study 'r' of a few stand-in trials."""
    where = tmp_path_factory.mktemp("study")
    options = RunOptions(study="r", trials=3, budget=600_000, storage=f"sqlite:///{where}/s.db",
                         epochs=2, train_subset=1000, data_dir=fake_cifar, seed=0)  # fmt: skip
    with redirect_stderr(io.StringIO()):
        run_search(options, standin_train)
    whole = where / "whole.db"  # s.db's pages may still wait in its write-ahead log
    with sqlite3.connect(where / "s.db") as source, sqlite3.connect(whole) as copy:
        source.backup(copy)
    return whole


REPORT = ["report", "--study", "r", "--storage", "sqlite:///s.db"]
TRAIN_OUT = ["train", "tiny.yaml", "--out"]
PREDICT_OUT = ["predict", ".", "--input", "ok.pkl", "-o"]
CANNOT_WRITE = "cannot write there ("  # No such file or directory as root, else Permission denied
BAD_INPUTS = [
    (["predict", ".", "--input", "noids.pkl"], "noids.pkl: no key b'ids'"),
    (["predict", ".", "--input", "small.pkl"], "b'data' has shape (4, 28, 28, 3); allowed: N x 32"),
    (["predict", ".", "--input", "flat.pkl"], "b'data' has shape (4, 1024); allowed"),
    (["predict", ".", "--input", "count.pkl"], "3 ids for 4 images; allowed: one id per image"),
    (["predict", ".", "--input", "floats.pkl"], "b'data' holds float64; allowed: uint8 pixels"),
    (["predict", ".", "--input", "list.pkl"], "a pickled list; allowed: a dict with b'data'"),
    (["predict", ".", "--input", "junk.pkl"], "junk.pkl: not a readable pickle"),
    (["predict", ".", "--input", "nothing.pkl"], "nothing.pkl: no such file or folder"),
    (["predict", ".", "--input", "big"], "big/0.png: 28x28 pixels; allowed: 32x32 images"),
    (["predict", ".", "--input", "bomb"], "bomb/0.png: not a readable image (Image size (400000"),
    (["predict", ".", "--input", "empty"], "empty: no image files there"),
    (["predict", ".", "--input", "deep"], "deep/0.png: 16-bit or float pixels (mode I;16); all"),
    (["predict", "nowhere", "--input", "ok.pkl"], "nowhere: no model.pt there; allowed"),
    (["predict", "junk.pkl", "--input", "ok.pkl"], "junk.pkl is truncated or not a model file"),
    (["evaluate", "nowhere"], "nowhere: no model.pt there"),
    (["evaluate", "ok.pkl"], "ok.pkl is truncated or not a model file (not a file torch.save"),
    (["evaluate", "tiny.yaml"], "tiny.yaml is truncated or not a model file (not a file torch"),
    (["evaluate", ".", "--precision", "fp8"], "unknown precision 'fp8'; allowed: auto"),
    (["train", "tiny.yaml", "--ema", "1"], "--ema must be 0 (off) or a decay in (0, 1), got 1.0"),
    (["train", "tiny.yaml", "--ema", "nan"], "--ema must be 0 (off) or a decay in (0, 1), got n"),
    (["train", "tiny.yaml", "--merge-val", "--train-subset", "50001"], "0 (all) to 50,000"),
    # issue 12: ids and data of every wrong kind, and pickles that name code or crash numpy
    (["predict", ".", "--input", "intids.pkl"], "b'ids' is of type int; allowed: a list or 1-D"),
    (["predict", ".", "--input", "noneids.pkl"], "b'ids' is of type NoneType; allowed: a list"),
    (["predict", ".", "--input", "strids.pkl"], "b'ids' is of type str; allowed: a list"),
    (["predict", ".", "--input", "floatids.pkl"], "b'ids'[0] is of type float (1.0); allowed"),
    (["predict", ".", "--input", "gridids.pkl"], "b'ids' has shape (2, 2); allowed: a list or 1-D"),
    (["predict", ".", "--input", "dupids.pkl"], "id '2' is given to 2 images; allowed: one dist"),
    (["predict", ".", "--input", "twice"], "id '1' is given to 2 images; allowed: one distinct"),
    (["predict", ".", "--input", "ragged.pkl"], "b'data' holds images of different shapes; allo"),
    (["predict", ".", "--input", "none.pkl"], "b'data' is of type NoneType; allowed: uint8 pix"),
    (["predict", ".", "--input", "zero.pkl"], "zero.pkl: 0 images; allowed: at least one image"),
    (["predict", ".", "--input", "foreign.pkl"], "names gone_module.Foreign, which is not loaded"),
    (["predict", ".", "--input", "code.pkl"], "system, which is not loaded (unpickling it could"),
    (["predict", ".", "--input", "dtype.pkl"], "dtype.pkl: not a readable pickle (dtype state"),
    (["predict", ".", "--input", "objects.pkl"], "(55 items of object in a list)"),
    (["predict", ".", "--input", "claim.pkl"], "expected 1099511627776 bytes in a bytearray8"),
    (["predict", ".", "--input", "memo.pkl"], "(memo index 4,294,967,295 beyond the file's size)"),
    # issue 12: outputs that cannot be written, found before any work
    ([*PREDICT_OUT, "afile/x.csv"], "--output afile/x.csv: its directory afile is not a dir"),
    ([*PREDICT_OUT, "/proc/x.csv"], f"--output /proc/x.csv: {CANNOT_WRITE}"),
    ([*PREDICT_OUT, "taken"], "--output taken: is a directory; allowed: a file in an existing"),
    ([*TRAIN_OUT, "afile/sub"], "--out afile/sub: cannot create it (Not a directory); allowed"),
    ([*TRAIN_OUT, "/proc"], f"--out /proc: {CANNOT_WRITE}"),
    ([*TRAIN_OUT, "afile"], "--out afile: is a file; allowed: a directory you can write to"),
    ([*TRAIN_OUT, "taken"], "taken/model.pt is a directory, where the file model.pt goes"),
    ([*TRAIN_OUT, "new", "--data-dir", "empty"], "--data-dir empty: no CIFAR-10 there; allowed"),
    ([*TRAIN_OUT, "fixed"], "--out fixed: cannot overwrite fixed/model.pt (Invalid argument)"),
    (["evaluate", ".", "--out", "fixed"], "cannot overwrite fixed/evaluation.json (Invalid arg"),
    (["evaluate", ".", "--out", "afile/sub"], "--out afile/sub: cannot create it (Not a direc"),
    (["evaluate", ".", "--out", "/proc"], f"--out /proc: {CANNOT_WRITE}"),
    (["evaluate", ".", "--out", "taken"], "taken/confusion.png is a directory, where the file"),
    ([*REPORT, "--out", "afile/sub"], "--out afile/sub: cannot create it (Not a directory)"),
    ([*REPORT, "--out", "/proc"], f"--out /proc: {CANNOT_WRITE}"),
    ([*REPORT, "--out", "taken"], "taken/trials.csv is a directory, where the file trials.csv"),
    # issue 12: configs that validate but cannot train, and integer options out of range
    (["train", "lr.yaml"], "lr.yaml: optim.lr must be a positive number up to 10, got 1e+300"),
    (["train", "decay.yaml"], "optim.weight_decay must be a finite number, got inf"),
    (["train", "huge.yaml"], "optim.lr must be a finite number, got an integer over 1e308"),
    (["params", "deep.yaml"], "model.depths must be integers 1 to 200 per stage, got (1000, 1)"),
    (["train", "wide.yaml"], "model of 280,018,200,474 parameters needs ~3,360 GB for its weig"),
    (["train", "batch.yaml"], "of activations at optim.batch_size 50,000 and ~"),
    (["train", "tiny.yaml", "--train-subset", "-1"], "--train-subset must be 0 (all) to 45,000"),
    (["status", "--study", "r", "--best", "-1"], "--best must be a number of trials >= 1, got -1"),
    (["status", "--study", "r", "--best", "0"], "--best must be a number of trials >= 1, got 0"),
    (["dashboard", "--port", "70000"], "--port must be 1 to 65535 (or 0: any free port), got"),
    (["dashboard", "--port", "-1"], "--port must be 1 to 65535 (or 0: any free port), got -1"),
]


def written(where):
    """Every path under `where` but SQLite's own -wal and -shm files, which opening makes."""
    return sorted(p for p in where.rglob("*") if not p.name.endswith(("-wal", "-shm")))


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_is_one_line_and_exit_2(
    cli, run_dir, study_db, fake_cifar, monkeypatch, args, message
):
    write_bad_files(run_dir)
    shutil.copy(study_db, run_dir / "search.db")
    shutil.copy(study_db, run_dir / "s.db")
    monkeypatch.setenv("SEARCH_DATA_DIR", str(fake_cifar))  # never the network
    before = written(run_dir)
    result = cli(*args)
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("error: "), result.err
    assert message in lines[0]
    assert "Traceback" not in result.err
    assert written(run_dir) == before  # nothing written, not even a directory


def test_a_config_that_diverges_in_train_is_one_line_naming_it(cli, tmp_path, fake_cifar):
    document = TINY.to_dict()
    document["optim"].update(lr=10, weight_decay=1, batch_size=8)  # the largest allowed
    (tmp_path / "steep.yaml").write_text(yaml.safe_dump(document))
    result = cli("train", "steep.yaml", "--train-subset", "640",
                 "--data-dir", fake_cifar, "--precision", "fp32")  # fmt: skip
    assert result.code == 2, result
    assert TINY.epochs != RETRAIN_EPOCHS  # not the config's length: the final training's
    assert f"for {RETRAIN_EPOCHS} epochs (the default; --epochs to change)" in result.err
    last = result.err.strip().splitlines()[-1]
    assert last.startswith("error: steep.yaml: training diverged (training loss is nan in epoch ")
    assert "Traceback" not in result.err


@pytest.mark.slow  # compiling takes seconds on 2 CPU cores
def test_train_compile_trains_a_compiled_model_and_saves_the_eager_weights(
    cli, tmp_path, fake_cifar
):
    import torch._dynamo.utils

    torch._dynamo.utils.counters.clear()  # what earlier tests in this process compiled
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY.to_dict()))
    result = cli("train", "tiny.yaml", "--epochs", "1", "--train-subset", "256", "--compile",
                 "--data-dir", fake_cifar, "--out", "run")  # fmt: skip
    assert result.code == 0, result.err
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 1  # compiled, not eager
    saved = torch.load(tmp_path / "run" / "model.pt", weights_only=True)["state_dict"]
    assert not [k for k in saved if "_orig_mod" in k]  # as an eager model saves them
    assert cli("evaluate", "run", "--data-dir", fake_cifar).code == 0
