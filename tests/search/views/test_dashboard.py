"""The dashboard over a live study: its HTTP API, and the page in a real headless Chromium."""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest

from tests.conftest import TINY_SPACE

pytestmark = pytest.mark.slow
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def search(*args, cwd):
    return subprocess.Popen([sys.executable, "-m", "search", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


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
def dashboard(tmp_path):
    """`search dashboard` on the SQLite default of tmp_path, once the study exists."""
    port = free_port()
    processes = []

    def start():
        process = search("dashboard", "--study", "live", "--port", port, cwd=tmp_path)
        processes.append(process)
        wait_for(f"http://127.0.0.1:{port}/api/studies")
        return f"http://127.0.0.1:{port}"

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def page_text(browser):
    return browser.find_element("tag name", "body").text


def run_args(fake_cifar, trials):
    return ["run", "--space", TINY_SPACE, "--study", "live", "--trials", trials, "--epochs", "2",
            "--train-subset", "640", "--val-size", "500", "--data-dir", fake_cifar]  # fmt: skip


def test_the_api_lists_the_study_while_a_run_writes_it(tmp_path, fake_cifar, dashboard):
    first = search(*run_args(fake_cifar, 1), cwd=tmp_path)
    assert first.wait(timeout=300) == 0
    base = dashboard()
    run = search(*run_args(fake_cifar, 8), cwd=tmp_path)
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


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="THE DASHBOARD WAS NOT TESTED IN A "
                    "BROWSER: no chromium or chromedriver on PATH; `bash scripts/setup.sh` as root "
                    "installs Debian's chromium and chromium-driver")  # fmt: skip
def test_the_study_page_renders_in_headless_chromium(tmp_path, fake_cifar, dashboard):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    assert search(*run_args(fake_cifar, 3), cwd=tmp_path).wait(timeout=300) == 0
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
        browser.get(f"{base}/dashboard/studies/1")
        WebDriverWait(browser, 60).until(
            lambda b: "live" in b.find_element("tag name", "body").text
        )
        browser.get(f"{base}/dashboard/studies/1/trials")
        WebDriverWait(browser, 60).until(
            lambda b: "Trial 2" in b.find_element("tag name", "body").text
        )
        text = browser.find_element("tag name", "body").text
        shot = Path(tmp_path / "dashboard.png")
        browser.save_screenshot(str(shot))
    finally:
        browser.quit()
    assert "live" in text
    assert all(f"Trial {n}" in text for n in range(3))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
