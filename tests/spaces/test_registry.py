import optuna
import pytest

from errors import UserError
from spaces import call_space, get_space, registered
from trainers import TrainConfig, count_params

TINY_SPACE = "tests/data/tiny_space.py"


def test_resnet_budget_is_registered_and_samples_valid_configs_of_2_to_5_stages():
    space = registered()["resnet_budget"]
    assert get_space("resnet_budget") is space
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    stages, schedules = set(), set()
    for _ in range(200):
        trial = study.ask()
        config = space(trial)
        assert isinstance(config, TrainConfig)
        assert count_params(config.model) > 0
        stages.add(len(config.model.depths))
        schedules.add(config.schedule.name)
        study.tell(trial, 0.0)
    assert stages == {2, 3, 4, 5}
    assert schedules == {"cosine", "step", "onecycle"}


def test_unknown_space_lists_the_known_ones():
    with pytest.raises(UserError, match="unknown space 'nope'; allowed: resnet_budget"):
        get_space("nope")


def test_a_user_file_with_a_registered_space(monkeypatch):
    monkeypatch.chdir(__file__.rsplit("/tests/", 1)[0])
    space = get_space(TINY_SPACE)
    assert space.__name__ == "tiny"
    assert isinstance(
        space(optuna.trial.FixedTrial({"width": 8, "blocks": 1, "lr": 0.1})), TrainConfig
    )


def test_a_user_file_defining_space(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(
        "from trainers import TrainConfig\n"
        "def space(trial):\n"
        "    return TrainConfig(epochs=trial.suggest_int('epochs', 1, 3))\n"
    )
    assert get_space(str(path))(optuna.trial.FixedTrial({"epochs": 2})).epochs == 2


def test_a_user_space_may_be_any_callable_even_one_that_cannot_be_hashed(tmp_path):
    path = tmp_path / "callable.py"
    path.write_text(
        "from dataclasses import dataclass\n"
        "from trainers import TrainConfig\n"
        "@dataclass\n"
        "class Space:\n"
        "    most: int\n"
        "    def __call__(self, trial, budget=None):\n"
        "        return TrainConfig(epochs=trial.suggest_int('epochs', 1, self.most))\n"
        "space = Space(3)\n"
    )
    space = get_space(str(path))
    assert call_space(space, optuna.trial.FixedTrial({"epochs": 2}), 1_000).epochs == 2


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = 1\n", "defines no search space; allowed: a function `space(trial)`"),
        ("def space(:\n", r"line 1: invalid syntax"),
    ],
)
def test_a_file_without_a_space_fails_clearly(tmp_path, source, message):
    path = tmp_path / "empty.py"
    path.write_text(source)
    with pytest.raises(
        UserError,
        match=message.replace("(", r"\(").replace(")", r"\)")
        if "syntax" not in message
        else message,
    ):
        get_space(str(path))


def test_a_missing_file_fails_clearly(tmp_path):
    with pytest.raises(UserError, match="does not exist; allowed: a Python file"):
        get_space(str(tmp_path / "missing.py"))
    with pytest.raises(UserError, match="is a directory; allowed: a Python file"):
        get_space(f"{tmp_path}/")


def test_a_file_that_registers_two_spaces_says_so(tmp_path, monkeypatch):
    from spaces import registry

    monkeypatch.setattr(registry, "_SPACES", dict(registry._SPACES))  # registered here only
    path = tmp_path / "two.py"
    path.write_text(
        "from spaces import register\n\n\n@register('two_a')\ndef a(trial):\n"
        "    return None\n\n\n@register('two_b')\ndef b(trial):\n    return None\n"
    )
    with pytest.raises(UserError, match=r"two\.py registers 2 spaces; allowed"):
        get_space(str(path))


def test_a_probe_passes_over_the_trials_a_space_fails_for_and_refuses_one_that_always_fails():
    """A space that fails for some of its configs fails those trials alone in a search, so the
    probe goes on with the others; one that fails for every trial is refused, naming it."""
    from spaces import probe
    from trainers import ModelConfig

    def some(trial: optuna.Trial) -> TrainConfig:
        if trial.suggest_float("lr", 0.0, 1.0) > 0.9:
            raise RuntimeError("lr too high")
        return TrainConfig(model=ModelConfig(stem_width=8, depths=(1, 1), widths=(8, 16)))

    configs = [config for _, config in probe(some, 100)]
    assert 50 < len(configs) < 100

    def never(trial: optuna.Trial) -> TrainConfig:
        trial.suggest_int("w", 8, 8)
        raise RuntimeError("always")

    with pytest.raises(UserError, match=r"'never' failed for every one of 5 random trials "
                       r"\(the first, \{'w': 8\}: RuntimeError: always\); allowed"):  # fmt: skip
        list(probe(never, 5))


def test_a_file_defining_space_is_searched_though_a_module_it_imports_registers_one(
    tmp_path, monkeypatch
):
    """A user's `space` built on another registered space: the file's own is the one run."""
    from spaces import registry

    monkeypatch.setattr(registry, "_SPACES", dict(registry._SPACES))  # registered here only
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "base_space_for_test.py").write_text(
        "from spaces import register\nfrom trainers import TrainConfig\n\n\n"
        "@register('base_for_test')\ndef base(trial):\n    return TrainConfig(epochs=1)\n"
    )
    path = tmp_path / "mine.py"
    path.write_text(
        "import dataclasses\nfrom base_space_for_test import base\n\n\n"
        "def space(trial):\n    return dataclasses.replace(base(trial), epochs=7)\n"
    )
    assert get_space(str(path))(optuna.trial.FixedTrial({})).epochs == 7


@pytest.mark.parametrize(
    ("name", "source", "message"),
    [
        ("mine.txt", "x = 1\n", "mine.txt is not a .py file; allowed: a Python file"),
        ("syntax.py", "def space(:\n", "syntax error at line 1: invalid syntax; allowed: a Py"),
        ("latin.py", b"x = '\xff'\n", "decode byte 0xff in position 0: invalid start byte; "),
        ("raises.py", "1 / 0\n", "raised ZeroDivisionError when imported: division by zero; "),
    ],
)
def test_a_bad_space_file_says_what_is_allowed(tmp_path, name, source, message):
    path = tmp_path / name
    path.write_bytes(source if isinstance(source, bytes) else source.encode())
    with pytest.raises(UserError) as caught:
        get_space(str(path))
    assert message in str(caught.value) and "; allowed: " in str(caught.value)


def test_a_space_path_that_exists_but_is_no_file_is_not_said_to_be_missing():
    with pytest.raises(UserError, match="/dev/null is not a regular file; allowed: a Python"):
        get_space("/dev/null")


def test_a_probe_starts_none_after_its_time_once_one_returned_a_config():
    """`until` in the past: the first config only; a space that fails goes on to one that works."""
    import time

    from spaces import probe

    def space(trial: optuna.Trial) -> TrainConfig:
        if trial.number < 3:
            raise RuntimeError("not yet")
        return TrainConfig(epochs=1)

    assert len(list(probe(space, 50, until=time.monotonic() - 1))) == 1
    assert len(list(probe(space, 50))) == 47


def test_a_space_file_or_space_that_calls_sys_exit_is_said_and_ends_nothing(tmp_path):
    from errors import ConfigError

    (tmp_path / "exits.py").write_text("import sys\nsys.exit(3)\n")
    with pytest.raises(UserError, match=r"exits\.py raised SystemExit when imported: 3; allowed"):
        get_space(str(tmp_path / "exits.py"))

    def space(trial: optuna.Trial) -> TrainConfig:
        raise SystemExit(0)

    with pytest.raises(ConfigError, match=r"space 'space' called sys\.exit\(0\); allowed"):
        call_space(space, optuna.trial.FixedTrial({}))


def test_an_async_space_is_refused_in_one_line_without_python_warning_of_it(tmp_path):
    """Its coroutines, never awaited, made Python print a RuntimeWarning below the error line."""
    import subprocess
    import sys

    path = tmp_path / "asy.py"
    path.write_text("async def space(trial):\n    return None\n")
    code = f"from spaces import get_space, probe\nlist(probe(get_space({str(path)!r}), 3))\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "returned coroutine" in result.stderr
    assert "never awaited" not in result.stderr
