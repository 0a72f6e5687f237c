"""`search train`, `evaluate`, `predict`: an exported config to a submission, and bad inputs."""

import csv
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from trainers import ModelConfig, OptimConfig, TrainConfig, count_params
from trainers.evaluation import save_run
from trainers.resnet import build_model

TINY = TrainConfig(
    model=ModelConfig(stem_width=16, depths=(1, 1), widths=(16, 32)),
    optim=OptimConfig(batch_size=128, lr=0.2),
    epochs=2,
)


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
def test_train_interrupted_resumed_evaluated_and_predicted_on_real_cifar10(tmp_path, cifar_dir):
    (tmp_path / "best.yaml").write_text(yaml.safe_dump({"config": TINY.to_dict(), "n_params": 1}))
    args = ["train", "best.yaml", "--train-subset", "8000", "--ema", "0.99", "--tta",
            "--data-dir", cifar_dir]  # fmt: skip
    straight = search(*args, "--out", "straight", cwd=tmp_path)
    assert "test accuracy" in straight.stdout and "with TTA" in straight.stdout

    command = [sys.executable, "-m", "search", *map(str, args), "--out", "cut"]
    run = subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    checkpoint = tmp_path / "cut" / "checkpoint.pt"
    while not checkpoint.exists() and run.poll() is None:
        time.sleep(0.02)
    run.send_signal(signal.SIGINT)  # Ctrl-C during epoch 2
    err = run.communicate(timeout=120)[1]
    assert run.returncode == 130, err
    assert "--resume" in err and not (tmp_path / "cut" / "model.pt").exists()
    resumed = search(*args, "--out", "cut", "--resume", cwd=tmp_path)
    assert "epoch 1/2" in resumed.stderr and "epoch 2/2" in resumed.stderr
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


def bad_pickle(where, name, **document):
    with open(where / name, "wb") as f:
        pickle.dump(document, f)


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
    (["predict", ".", "--input", "empty"], "empty: no image files there"),
    (["predict", "nowhere", "--input", "ok.pkl"], "nowhere: no model.pt there; allowed"),
    (["predict", "junk.pkl", "--input", "ok.pkl"], "junk.pkl is truncated or not a model file"),
    (["evaluate", "nowhere"], "nowhere: no model.pt there"),
    (["train", "tiny.yaml", "--ema", "1"], "ema must be 0 (off) or a decay in (0, 1), got 1.0"),
    (["train", "tiny.yaml", "--merge-val", "--train-subset", "50001"], "0 (all) to 50,000"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_is_one_line_and_exit_2(cli, run_dir, args, message):
    images = np.zeros((4, 32, 32, 3), dtype=np.uint8)
    bad_pickle(run_dir, "ok.pkl", **{"data": images, "ids": [1, 2, 3, 4]})
    bad_pickle(run_dir, "noids.pkl", **{"data": images})
    bad_pickle(run_dir, "small.pkl", data=np.zeros((4, 28, 28, 3), np.uint8), ids=[1, 2, 3, 4])
    bad_pickle(run_dir, "flat.pkl", data=np.zeros((4, 1024), np.uint8), ids=[1, 2, 3, 4])
    bad_pickle(run_dir, "count.pkl", data=images, ids=[1, 2, 3])
    bad_pickle(run_dir, "floats.pkl", data=images.astype(float), ids=[1, 2, 3, 4])
    with open(run_dir / "list.pkl", "wb") as f:
        pickle.dump([1, 2], f)
    (run_dir / "junk.pkl").write_bytes(b"\x00not a pickle")
    (run_dir / "big").mkdir()
    Image.fromarray(np.zeros((28, 28, 3), np.uint8)).save(run_dir / "big" / "0.png")
    (run_dir / "empty").mkdir()
    (run_dir / "tiny.yaml").write_text(yaml.safe_dump(TINY.to_dict()))
    result = cli(*args)
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("error: "), result.err
    assert message in lines[0]
    assert not (run_dir / "submission.csv").exists()
