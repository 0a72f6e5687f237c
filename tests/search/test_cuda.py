"""The whole path on CUDA, where there is one: a search trains its trials on the GPU (sharing
it, and with each step a CUDA graph), a real out-of-memory error fails one trial and the next
trains, and an exported config retrains (as a CUDA graph), evaluates and predicts there (marked
`gpu`: skipped, saying so, without CUDA)."""

import io
from contextlib import redirect_stderr

import numpy as np
import optuna
import pytest
import yaml

from search import RunOptions, run_search
from tests.conftest import TINY_SPACE
from tests.search.cli.test_model import TINY, read_csv, search, write_inputs
from trainers import count_params

pytestmark = [pytest.mark.gpu, pytest.mark.slow]


def test_a_search_trains_its_trials_on_the_gpu(tmp_path, cifar_dir):
    options = RunOptions(space=str(TINY_SPACE), study="cuda", trials=3, epochs=2,
                         train_subset=5000, val_size=1000, data_dir=cifar_dir, device="cuda",
                         storage=f"sqlite:///{tmp_path}/s.db", seed=0)  # fmt: skip
    with redirect_stderr(io.StringIO()):
        study = run_search(options)
    trained = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert trained and all(t.user_attrs["device"].startswith("cuda") for t in trained)
    assert all(t.user_attrs["precision"] in ("bf16", "fp16") for t in trained)  # autocast


def test_tiny_trials_share_a_gpu_four_ways_on_ray_by_default(tmp_path, cifar_dir):
    import torch

    assert RunOptions().uses_ray and not RunOptions(device="cuda:0").uses_ray
    assert RunOptions(trials_per_gpu=1).uses_ray == (torch.cuda.device_count() > 1)
    options = RunOptions(space=str(TINY_SPACE), study="shared", trials=4, epochs=1,
                         train_subset=2000, val_size=1000, data_dir=cifar_dir,
                         storage=f"sqlite:///{tmp_path}/s.db", seed=0, pruner="none")  # fmt: skip
    with redirect_stderr(io.StringIO()):
        study = run_search(options)
    trained = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(trained) == 4
    assert all(t.user_attrs["gpus"] == 0.25 for t in trained)  # tiny: 4 per GPU
    assert all(t.user_attrs["device"].startswith("cuda") for t in trained)


def test_trials_sharing_a_gpu_train_with_the_whole_step_as_a_cuda_graph(tmp_path, cifar_dir):
    options = RunOptions(space=str(TINY_SPACE), study="graphs", trials=4, epochs=2,
                         train_subset=5000, val_size=1000, data_dir=cifar_dir, seed=0,
                         storage=f"sqlite:///{tmp_path}/s.db", pruner="none",
                         cuda_graphs=True)  # fmt: skip
    with redirect_stderr(io.StringIO()):
        study = run_search(options)
    trained = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(trained) == 4 and all(t.value > 0.2 for t in trained)  # chance is 0.1


def test_train_evaluate_and_predict_on_the_gpu(tmp_path, cifar_dir):
    (tmp_path / "best.yaml").write_text(
        yaml.safe_dump({"config": TINY.to_dict(), "n_params": count_params(TINY.model)})
    )
    trained = search("train", "best.yaml", "--epochs", "2", "--train-subset", "8000",
                     "--data-dir", cifar_dir, "--device", "cuda", "--out", "run",
                     "--cuda-graphs", cwd=tmp_path)  # fmt: skip
    assert "loading CIFAR-10 onto cuda" in trained.stderr
    metrics = yaml.safe_load((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["device"].startswith("cuda") and metrics["test_accuracy"] > 0.2

    evaluated = search("evaluate", "run", "--data-dir", cifar_dir, "--device", "cuda",
                       cwd=tmp_path)  # fmt: skip
    figures = yaml.safe_load((tmp_path / "run" / "evaluation.json").read_text())
    assert figures["plain"]["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=0.005)
    assert "truck" in evaluated.stdout

    images = np.random.default_rng(0).integers(0, 256, (9, 32, 32, 3), dtype=np.uint8)
    write_inputs(tmp_path, images)
    search("predict", "run", "--input", "nhwc.pkl", "-o", "out.csv", "--device", "cuda",
           cwd=tmp_path)  # fmt: skip
    rows = read_csv(tmp_path / "out.csv")
    assert len(rows) == 9 and all(0 <= int(label) <= 9 for _, label in rows)


class AllocatesTooMuchOnce:
    """The real trainer, whose first call first asks CUDA for more memory than the GPU has: a
    real out-of-memory error from the CUDA allocator, not a raised stand-in."""

    def __init__(self) -> None:
        self.called = False

    def __call__(self, config, report=None, **kwargs):
        import torch

        from trainers.loop import train

        if not self.called:
            self.called = True
            _, total = torch.cuda.mem_get_info()
            torch.empty(total + 2**30, dtype=torch.uint8, device="cuda")
        return train(config, report, **kwargs)


def test_out_of_memory_fails_one_trial_and_the_next_trains_on_the_gpu(tmp_path, cifar_dir):
    options = RunOptions(space=str(TINY_SPACE), study="oom", trials=2, epochs=1,
                         train_subset=2000, val_size=1000, data_dir=cifar_dir, device="cuda",
                         storage=f"sqlite:///{tmp_path}/s.db", seed=0,
                         workers=1)  # here, where the trainer remembers its first call  # fmt: skip
    with redirect_stderr(io.StringIO()):
        study = run_search(options, AllocatesTooMuchOnce())
    failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(failed) == 1
    assert failed[0].user_attrs["fail_reason"].startswith("out of memory: CUDA out of memory")
    trained = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(trained) == 2 and all(t.user_attrs["device"].startswith("cuda") for t in trained)
