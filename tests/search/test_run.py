import io
from contextlib import redirect_stderr
from pathlib import Path

import pytest

from errors import UserError
from search import RunOptions, is_budget_rejected, is_trained, run_search
from tests.search.standins import Timed, standin_train


@pytest.fixture(autouse=True)
def data(monkeypatch, fake_cifar):
    """The stand-in trainers read no images, but a run checks that the data is there."""
    monkeypatch.setenv("SEARCH_DATA_DIR", str(fake_cifar))


def run(url, trials, seed=0, train_fn=standin_train, **options):
    options = {"epochs": 3, "train_subset": 1000, **options}
    with redirect_stderr(io.StringIO()):
        return run_search(
            RunOptions(study="s", trials=trials, storage=url, seed=seed, **options), train_fn
        )


def test_resuming_reaches_the_total_and_never_duplicates(storage_url):
    run(storage_url, trials=3)
    study = run(storage_url, trials=5, seed=1)
    trials = study.get_trials()
    assert sum(is_trained(t) for t in trials) == 5
    numbers_before = [t.number for t in trials]
    again = run(storage_url, trials=5, seed=2)
    assert [t.number for t in again.get_trials()] == numbers_before
    assert again.user_attrs["budget"] == 5_000_000
    assert again.user_attrs["fidelity"] == {"epochs": 3, "train_subset": 1000, "val_size": 1000}
    assert again.metric_names == ["val_accuracy"]


def test_budget_rejections_do_not_count_towards_trials(tmp_path):
    study = run(f"sqlite:///{tmp_path}/s.db", trials=8, budget=300_000)
    trials = study.get_trials()
    assert sum(is_trained(t) for t in trials) == 8
    assert any(is_budget_rejected(t) for t in trials)


def test_a_timed_run_stops_starting_trials_and_the_next_run_goes_on(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    log = io.StringIO()
    with redirect_stderr(log):
        study = run_search(
            RunOptions(study="s", trials=50, storage=url, seed=0, epochs=3, train_subset=1000,
                       timeout_s=4, warm_start=False),
            Timed(0.2),
        )  # fmt: skip
    said = " ".join(log.getvalue().split())
    assert "running until 50 or for 4 s (no trial starts after; the running ones finish)" in said
    assert "time is up: no more trials start" in said
    trained = sum(is_trained(t) for t in study.get_trials())
    assert 1 <= trained < 50
    assert sum(is_trained(t) for t in run(url, trials=trained + 2, seed=1).get_trials()) == (
        trained + 2
    )


FIXED_WIDTH_SPACE = str(Path(__file__).parents[1] / "data" / "fixed_width_space.py")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_sampler_learns_the_budget(seed):
    """A space that ignores the budget (resnet_budget before it was sized to it: 22% of random
    draws over 5M): over a 60-trial study, at most 20% of the last 30 samples are over it."""
    study = run("sqlite://", trials=60, seed=seed, pruner="none", space=FIXED_WIDTH_SPACE)
    first60 = study.get_trials()[:60]
    late = sum(is_budget_rejected(t) for t in first60[30:])
    assert late <= 6, f"{late} of the last 30 samples over budget"


@pytest.mark.parametrize("pruner", ["sha", "hyperband", "median"])
def test_the_pruners_stop_weak_trials_but_never_a_finished_one(tmp_path, pruner):
    study = run(f"sqlite:///{tmp_path}/s.db", trials=25, epochs=9, pruner=pruner)
    pruned = [t for t in study.get_trials() if is_trained(t) and t.state.name == "PRUNED"]
    assert pruned
    for t in pruned:
        assert t.user_attrs["pruned_reason"].startswith("pruner: ")
        assert max(t.intermediate_values) < 9  # the last epoch's report never prunes


def test_a_budget_below_every_model_fails_before_storage_is_touched(tmp_path):
    with pytest.raises(UserError, match="--budget 1,000 is below every model of space"):
        run(f"sqlite:///{tmp_path}/s.db", trials=3, budget=1000)
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("sqlite:///{tmp}/nowhere/s.db", "does not exist; allowed: a file in an existing"),
        ("sqlite:///file:{tmp}/s.db?uri=true&mode=ro", "mode=ro opens it read-only"),
        ("postgresql://postgres@127.0.0.1:1/test", "is unreachable: connection failed"),
    ],
)
def test_a_bad_storage_is_refused_before_ray_starts(tmp_path, monkeypatch, url, said):
    """Ray takes seconds to start (more where a cluster is joined): a typo is said first."""
    import ray

    monkeypatch.setattr(ray, "init", lambda *_, **__: pytest.fail("Ray started first"))
    with pytest.raises(UserError, match=said):
        run(url.format(tmp=tmp_path), trials=2, workers=2)
    assert list(tmp_path.iterdir()) == []  # nothing made


def test_resuming_with_another_budget_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    run(url, trials=1)
    with pytest.raises(UserError, match="created with budget 5000000, not 4000000"):
        run(url, trials=2, budget=4_000_000)


def test_a_resumed_seeded_run_does_not_replay_its_first_configs(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    first = run(url, trials=2, seed=7).get_trials()
    resumed = run(url, trials=4, seed=7).get_trials()[len(first) :]
    assert [t.params for t in resumed[: len(first)]] != [t.params for t in first]


def test_nonpositive_trials_and_unknown_pruners_are_refused(tmp_path):
    with pytest.raises(UserError, match="--trials must be 1 to 1,000,000, got 0"):
        run(f"sqlite:///{tmp_path}/s.db", trials=0)
    with pytest.raises(UserError, match="unknown pruner 'asha'; allowed: sha, hyperband"):
        run(f"sqlite:///{tmp_path}/s.db", trials=1, pruner="asha")
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize("compile", [False, True])
def test_compile_reaches_the_trainer_only_when_asked(tmp_path, compile):
    heard = []

    def train_fn(config, report=None, **kwargs):
        heard.append(kwargs.get("compile", False))
        return standin_train(config, report, **kwargs)

    run(f"sqlite:///{tmp_path}/s.db", trials=2, train_fn=train_fn, compile=compile,
        warm_start=False)  # fmt: skip
    assert heard and set(heard) == {compile}


@pytest.mark.parametrize("cuda_graphs", [None, False])
def test_cuda_graphs_reach_the_trainer_as_asked_and_are_its_to_decide_by_default(
    tmp_path, cuda_graphs
):
    """Not asked, the driver passes nothing: each trial decides where it trains (`train`), so a
    driver without a GPU, or one Ray trials share, never touches CUDA for it."""
    heard = []

    def train_fn(config, report=None, **kwargs):
        heard.append(kwargs.get("graphs", "unset"))
        return standin_train(config, report, **kwargs)

    run(f"sqlite:///{tmp_path}/s.db", trials=2, train_fn=train_fn, cuda_graphs=cuda_graphs,
        warm_start=False)  # fmt: skip
    assert heard and set(heard) == {"unset" if cuda_graphs is None else False}


def test_a_space_file_resumes_by_any_path_to_it(tmp_path, monkeypatch):
    """The study records the file's absolute path; one recorded as typed, relative to where
    the run started (studies before that), resumes from there by any path too."""
    from tests.conftest import TINY_SPACE

    url = f"sqlite:///{tmp_path}/s.db"
    monkeypatch.chdir(TINY_SPACE.parent.parent)
    relative = f"{TINY_SPACE.parent.name}/{TINY_SPACE.name}"
    study = run(url, trials=1, space=relative)
    assert study.user_attrs["space"] == str(TINY_SPACE.resolve())
    monkeypatch.chdir(TINY_SPACE.parent)
    assert run(url, trials=2, space=TINY_SPACE.name).user_attrs["space"] == str(TINY_SPACE)
    study.set_user_attr("space", relative)  # as typed, before
    monkeypatch.chdir(TINY_SPACE.parent.parent)
    assert len(run(url, trials=3, space=str(TINY_SPACE)).get_trials()) >= 3
    (tmp_path / "other.py").write_text(TINY_SPACE.read_text())  # another file
    with pytest.raises(UserError, match="was created with space"):
        run(url, trials=4, space=str(tmp_path / "other.py"))


def space_file(tmp_path, body, imports=""):
    """A user's space file: `imports`, then `def space(trial)` running `body` (its lines, each
    indented) and returning a tiny model's config unless the body returned one."""
    path = tmp_path / "mine.py"
    path.write_text(
        f"{imports}from trainers import ModelConfig, OptimConfig, TrainConfig, load_config\n"
        "TINY = ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16))\n"
        f"def space(trial):\n{body}    return TrainConfig(model=TINY)\n"
    )
    return str(path)


def test_a_space_that_fails_for_some_trials_fails_those_alone(tmp_path):
    """Each of its trials whose lr is over 0.15 fails, saying why; the search goes on."""
    space = space_file(
        tmp_path,
        "    lr = trial.suggest_float('lr', 0.05, 0.2)\n"
        "    if lr > 0.15:\n"
        "        raise RuntimeError(f'lr {lr} too high')\n"
        "    return TrainConfig(model=TINY, optim=OptimConfig(lr=lr))\n",
    )
    study = run(f"sqlite:///{tmp_path}/s.db", trials=4, space=space, seed=3)
    failed = [t for t in study.get_trials() if t.state.name == "FAIL"]
    assert sum(is_trained(t) for t in study.get_trials()) == 4
    assert failed and all("too high" in t.user_attrs["fail_reason"] for t in failed)


def test_a_space_that_raises_trial_pruned_fails_those_trials_and_they_do_not_count(tmp_path):
    space = space_file(
        tmp_path,
        "    if trial.suggest_int('width', 8, 16, step=8) == 16:\n"
        "        raise optuna.TrialPruned('not this one')\n",
        imports="import optuna\n",
    )
    study = run(f"sqlite:///{tmp_path}/s.db", trials=4, space=space, seed=0)
    trials = study.get_trials()
    assert all(t.params["width"] == 8 for t in trials if is_trained(t))
    assert sum(is_trained(t) for t in trials) == 4
    skipped = [t for t in trials if t.params.get("width") == 16]
    assert skipped and all(t.state.name == "FAIL" for t in skipped)
    assert all("TrialPruned: not this one" in t.user_attrs["fail_reason"] for t in skipped)


def test_a_timed_run_of_a_slow_space_probes_it_briefly_and_trains(tmp_path):
    """200 probes of a space that takes 0.03 s took 6 s of a 3 s --timeout, so that no run of
    the same command ever trained a trial; the probes now stop at a tenth of the time."""
    space = space_file(
        tmp_path,
        "    time.sleep(0.03)\n"
        "    w = trial.suggest_int('w', 8, 16, step=8)\n"
        "    return TrainConfig(model=ModelConfig(stem_width=8, depths=(1, 1), widths=(w, w)))\n",
        imports="import time\n",
    )
    study = run(f"sqlite:///{tmp_path}/s.db", trials=50, space=space, timeout_s=3)
    assert sum(is_trained(t) for t in study.get_trials()) >= 1


def test_a_space_that_calls_sys_exit_for_a_trial_fails_that_trial_alone(tmp_path):
    """It ended the run with exit code 0 and no word, a trial short."""
    space = space_file(
        tmp_path,
        "    if trial.study.study_name == 's' and trial.number == 1:\n        sys.exit(0)\n",
        imports="import sys\n",
    )
    study = run(f"sqlite:///{tmp_path}/s.db", trials=2, space=space)
    assert sum(is_trained(t) for t in study.get_trials()) == 2
    assert study.trials[1].user_attrs["fail_reason"].startswith("space 'space' called sys.exit(0)")


def test_a_space_reading_a_bad_file_for_some_configs_fails_those_trials_alone(tmp_path):
    (tmp_path / "bad.yaml").write_text("model: [1, 2\n")
    space = space_file(
        tmp_path,
        "    if trial.suggest_categorical('base', ['tiny', 'bad']) == 'bad':\n"
        "        return load_config(Path(__file__).parent / 'bad.yaml')\n",
        imports="from pathlib import Path\n",
    )
    study = run(f"sqlite:///{tmp_path}/s.db", trials=2, space=space, seed=1)
    bad = [t for t in study.get_trials() if t.params.get("base") == "bad"]
    assert sum(is_trained(t) for t in study.get_trials()) == 2
    assert bad and all("not valid YAML" in t.user_attrs["fail_reason"] for t in bad)


def test_a_space_setting_an_attribute_json_cannot_write_fails_that_trial_alone(tmp_path):
    """It was a traceback, exit 1, when the failed draft was written."""
    space = space_file(
        tmp_path,
        "    if trial.study.study_name == 's' and trial.number == 1:\n"
        "        trial.set_user_attr('chosen', np.int64(8))\n",
        imports="import numpy as np\n",
    )
    study = run(f"sqlite:///{tmp_path}/s.db", trials=2, space=space)
    assert sum(is_trained(t) for t in study.get_trials()) == 2
    assert "user attribute 'chosen'" in study.trials[1].user_attrs["fail_reason"]


def test_a_finished_run_leaves_no_empty_checkpoint_folders_but_a_given_root_stays(tmp_path):
    run(f"sqlite:///{tmp_path}/s.db", trials=2)
    assert not (tmp_path / "s-checkpoints").exists()
    given = tmp_path / "mine"
    run(f"sqlite:///{tmp_path}/s.db", trials=3, checkpoint_dir=given)
    assert given.is_dir() and not list(given.iterdir())
