"""bench/graph_accuracy.py: its eager half trains seeded runs of a zoo design on any device and
its graph half is refused, saying why, without CUDA (the GPU session runs both); its verdict
calls a difference noise only within two standard errors."""

import sys

import graph_accuracy
import pytest


@pytest.mark.slow
def test_seeded_eager_runs_train_and_the_graph_step_is_refused_without_cuda(
    cifar_dir, monkeypatch, capsys
):
    monkeypatch.setenv("SEARCH_DATA_DIR", str(cifar_dir))
    tiny = ["--design", "ResNet-20", "--device", "cpu", "--epochs", "1", "--train-subset", "500",
            "--val-size", "500", "--seeds", "0", "1"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["graph_accuracy.py", *tiny, "--modes", "eager"])
    graph_accuracy.main()
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ResNet-20 (269,722 parameters, its recipe), 1 epoch on 500 images")
    rows = [line.split() for line in out[2:4]]
    assert [row[0] for row in rows] == ["0", "1"]
    assert all(0 <= float(row[1]) <= 1 and float(row[2]) > 0 for row in rows)
    assert out[4].startswith("  eager: mean ") and out[4].endswith("over 2 seeds")

    monkeypatch.setattr(sys, "argv", ["graph_accuracy.py", *tiny])  # both modes, the default
    with pytest.raises(SystemExit, match="the graph step needs CUDA, and the device is cpu"):
        graph_accuracy.main()


def test_the_verdict_calls_a_difference_noise_only_within_two_standard_errors():
    eager = [0.900, 0.910, 0.905]
    close = graph_accuracy.verdict({"eager": eager, "graphs": [0.902, 0.908, 0.906]}, 5000)
    assert close.splitlines()[-1].startswith("graphs - eager: +0.03 points")
    assert close.endswith(": within noise (2 standard errors)")
    worse = graph_accuracy.verdict({"eager": eager, "graphs": [0.850, 0.860, 0.855]}, 5000)
    assert worse.splitlines()[-1].startswith("graphs - eager: -5.00 points")
    assert worse.endswith(": NOT within noise (2 standard errors)")
    alone = graph_accuracy.verdict({"eager": eager}, 5000)
    assert alone == "  eager: mean 0.9050, standard error 0.0029 over 3 seeds"
