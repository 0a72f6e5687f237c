"""The dashboard over a live study: its HTTP API, and the page in a real headless Chromium."""

import collections
import json
import shutil
import socket
import time
import urllib.request
from pathlib import Path

import optuna
import pytest

from search.views.outcomes import OUTCOMES, legend_group
from tests.conftest import TINY_SPACE

pytestmark = pytest.mark.slow
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, json.loads(response.read())


def wait_for(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            return get(url)
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(url)


@pytest.fixture
def dashboard(tmp_path, spawn):
    """`search dashboard` on the SQLite default of tmp_path, once the study exists."""
    port = free_port()
    processes = []

    def start():
        process = spawn("dashboard", "--study", "live", "--port", port, cwd=tmp_path)
        processes.append(process)
        wait_for(f"http://127.0.0.1:{port}/api/studies")
        return f"http://127.0.0.1:{port}"

    yield start
    for process in processes:
        process.terminate()
        _, err = process.communicate(timeout=10)
        assert "Warning" not in err, err  # e.g. Optuna's importance warnings, once every poll


def page_text(browser):
    return browser.find_element("tag name", "body").text


def run_args(fake_cifar, trials, *more):
    return ["run", "--space", TINY_SPACE, "--study", "live", "--trials", trials, "--epochs", "2",
            "--train-subset", "640", "--val-size", "500", "--data-dir", fake_cifar,
            *more]  # fmt: skip


def outcome_counts(where):
    """How many of the study's trials came to each outcome, as the figure should say."""
    trials = optuna.load_study(study_name="live", storage=f"sqlite:///{where}/search.db").trials
    return collections.Counter(legend_group(t) for t in trials)


def legend(detail):
    """The outcome figure the dashboard added to a study's detail: its traces' names."""
    (figure,) = [g for g in detail["plotly_graph_objects"] if g["id"] == "trial-outcomes"]
    return {trace["name"] for trace in json.loads(figure["graph_object"])["data"]}


def test_the_api_lists_the_study_while_a_run_writes_it(tmp_path, fake_cifar, dashboard, spawn):
    first = spawn(*run_args(fake_cifar, 1), cwd=tmp_path)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    base = dashboard()
    run = spawn(*run_args(fake_cifar, 8), cwd=tmp_path)
    polls = 0
    while run.poll() is None:  # read as hard as a browser would, all through the run
        status, body = get(f"{base}/api/studies")
        assert status == 200
        (study,) = [s for s in body["study_summaries"] if s["study_name"] == "live"]
        status, detail = get(f"{base}/api/studies/{study['study_id']}")
        assert status == 200 and detail["trials"]
        polls += 1
        time.sleep(0.2)
    _, err = run.communicate()
    assert run.returncode == 0, err
    assert polls > 10
    trials = optuna.load_study(study_name="live", storage=f"sqlite:///{tmp_path}/search.db").trials
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in trials) == len(trials) == 8
    note = json.dumps(detail.get("note", {}))
    assert "budget" in note and "search run" in note and "val_accuracy" in note
    assert detail["objective_names"] == ["val_accuracy"]
    counts = outcome_counts(tmp_path)
    assert legend(detail) == {f"{name} ({counts[name]})" for name in OUTCOMES}
    with urllib.request.urlopen(f"{base}/dashboard/studies/1/trialTable", timeout=10) as page:
        assert page.url == f"{base}/dashboard/studies/1/trials"  # not a blank page
    foreign = optuna.create_study(study_name="theirs", storage=f"sqlite:///{tmp_path}/search.db")
    foreign.set_user_attr("budget", "2h")  # another program's attribute of the same name
    foreign.add_trial(optuna.trial.create_trial(value=0.5))
    status, detail = get(f"{base}/api/studies/{foreign._study_id}")
    assert status == 200 and len(detail["trials"]) == 1  # as optuna-dashboard shows it
    assert not [g for g in detail["plotly_graph_objects"] if g["id"] == "trial-outcomes"]


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="THE DASHBOARD WAS NOT TESTED IN A "
                    "BROWSER: no chromium or chromedriver on PATH; `bash scripts/setup.sh` as root "
                    "installs Debian's chromium and chromium-driver")  # fmt: skip
def test_the_study_page_renders_in_headless_chromium(tmp_path, cifar_dir, dashboard, spawn):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    # a budget that half the tiny models exceed; this seed's sampler draws some of them, and the
    # pruner stops a trial (checked below, so a change in either says why this test failed).
    # Real images: on random pixels every tiny model guesses one class, all tie, none is pruned
    args = run_args(cifar_dir, 5, "--budget", "15000", "--seed", "0")
    run = spawn(*args, cwd=tmp_path)
    _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    counts = outcome_counts(tmp_path)
    assert counts["rejected for the budget"] and counts["pruned by the pruner"], counts
    base = dashboard()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)  # fmt: skip
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        browser.get(f"{base}/dashboard/studies/1")  # the study's first page: the outcome figure
        WebDriverWait(browser, 60).until(lambda b: "Trials by outcome" in page_text(b))
        top = page_text(browser)
        shot = Path(tmp_path / "dashboard.png")
        browser.save_screenshot(str(shot))
        browser.get(f"{base}/dashboard/studies/1/trialTable")  # gone in 0.21: to the list
        WebDriverWait(browser, 60).until(lambda b: "Trial 4" in page_text(b))
        listed, url = page_text(browser), browser.current_url
    finally:
        browser.quit()
    for name in ("complete", "pruned by the pruner", "rejected for the budget"):
        assert f"{name} ({counts[name]})" in top  # the legend tells the two kinds of PRUNED apart
    assert url.endswith("/dashboard/studies/1/trials")
    assert all(f"Trial {n}" in listed for n in range(5))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
