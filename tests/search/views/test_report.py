import io
from contextlib import redirect_stderr

import pandas as pd
import pytest

from errors import UserError
from search import RunOptions, is_budget_rejected, run_search
from search.trial import DESIGN, PRECISION, WALL_S
from search.views.report import trials_frame, write_report
from tests.search.standins import standin_train


@pytest.fixture(scope="module")
def study(tmp_path_factory, fake_cifar):
    where = tmp_path_factory.mktemp("report")
    options = RunOptions(study="r", trials=12, budget=600_000, storage=f"sqlite:///{where}/s.db",
                         epochs=3, train_subset=1000, data_dir=fake_cifar, seed=0)  # fmt: skip
    with redirect_stderr(io.StringIO()):
        return run_search(options, standin_train)


def test_the_report_writes_every_file(study, tmp_path):
    written = write_report(study, tmp_path / "report")
    names = {p.name for p in written}
    assert names == {"trials.csv", "history.png", "params.png", "curves.png",
                     "importances.png", "index.html"}  # fmt: skip
    for path in written:
        assert path.stat().st_size > 500
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (tmp_path / "report" / "index.html").read_text()
    for name in names - {"index.html"}:
        assert name in page
    assert "rejected for the budget" in page and "best" in page


def test_the_csv_has_a_row_per_trial_and_the_config_in_columns(study, tmp_path):
    write_report(study, tmp_path)
    frame = pd.read_csv(tmp_path / "trials.csv")
    assert len(frame) == len(study.trials)
    assert list(frame["number"]) == [t.number for t in study.trials]
    for column in ("val_accuracy", "n_params", "state", "pruned_reason", "config.model.depths",
                   "config.model.widths", "config.optim.lr", "config.augment.cutmix_prob",
                   "config.schedule.name", "config.epochs"):  # fmt: skip
        assert column in frame.columns, column
    rejected = frame[[is_budget_rejected(t) for t in study.trials]]
    assert len(rejected) and rejected["pruned_reason"].str.startswith("budget: ").all()
    assert (rejected["reason"] == rejected["pruned_reason"]).all()
    assert trials_frame(study)["config.optim.lr"].notna().all()


def test_the_csv_names_the_published_designs_and_has_every_metric_a_trial_records(study, tmp_path):
    write_report(study, tmp_path)
    frame = pd.read_csv(tmp_path / "trials.csv")
    designs = [t.user_attrs.get(DESIGN) for t in study.trials]
    assert "ResNet-20" in designs  # the warm start's first: fits the budget of 600,000
    assert [d if isinstance(d, str) else None for d in frame[DESIGN]] == designs
    complete = frame[frame["state"] == "COMPLETE"]
    assert len(complete) and (complete[WALL_S] == 0.01).all()  # as standin_train measured
    assert (complete[PRECISION] == "fp32").all()


def test_an_empty_study_has_nothing_to_report(tmp_path):
    import optuna

    with pytest.raises(UserError, match="has no trials yet"):
        write_report(optuna.create_study(study_name="e"), tmp_path)


def test_a_study_with_no_trial_finished_yet_is_reported(study, tmp_path):
    """As `search report` just after a run starts: one design training, the others queued."""
    import optuna

    young = optuna.create_study(study_name="young")
    first = study.trials[0]
    young.enqueue_trial(first.params, user_attrs=first.user_attrs)
    young.enqueue_trial(first.params, user_attrs=first.user_attrs)
    young.ask()
    (tmp_path / "importances.png").write_bytes(b"an earlier report's")
    written = write_report(young, tmp_path)
    assert not (tmp_path / "importances.png").exists()  # too few trials for one of its own
    frame = pd.read_csv(tmp_path / "trials.csv")
    assert list(frame["state"]) == ["RUNNING", "WAITING"]
    assert frame["duration"].isna().all() and frame["val_accuracy"].isna().all()
    assert {p.name for p in written} >= {"trials.csv", "index.html"}
