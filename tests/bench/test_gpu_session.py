"""bench/gpu_session.sh runs every test marked `gpu`, and each step once per machine while its
time allows: a GPU call is too rare to miss a test or lose time to a rerun."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_gpu_session_names_every_file_that_holds_a_gpu_test():
    named = set(re.findall(r"tests/\S+\.py", (ROOT / "bench" / "gpu_session.sh").read_text()))
    collect = ["-m", "pytest", "-m", "gpu", "--collect-only", "-q", "-p", "no:cacheprovider"]
    listing = subprocess.run([sys.executable, *collect], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
    holding = {line.split("::")[0] for line in listing.splitlines() if "::" in line}
    assert len(holding) >= 5 and holding <= named, holding - named


def test_each_step_runs_once_per_machine_and_only_with_its_time_left(tmp_path):
    """The script's control flow, its steps' programs replaced by a `python3` that only says
    what it was asked and leaves a process running: a GPU call is too rare to find there that
    the second one reruns a step or starts one it has no time for, or that a step's leftovers
    keep the GPU (or that another program's Ray is killed: it killed a test run's once)."""
    bin_dir, out = tmp_path / "bin", tmp_path / "out"
    bin_dir.mkdir()
    (bin_dir / "python3").write_text(  # and leaves a process running, as Ray's daemons do
        '#!/bin/sh\necho "python3 $*"\nsetsid sleep 300 >/dev/null 2>&1 &\n'
        'echo "${GPU_SESSION_STEP:-none} $!" >> "$OUT/left"\n'
    )
    (bin_dir / "python3").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "OUT": str(out),
           "GPU_SESSION_RAN": str(tmp_path / "ran")}  # fmt: skip

    def session(*args: str) -> None:
        subprocess.run(["bash", str(ROOT / "bench" / "gpu_session.sh"), *args], env=env,
                       check=True, capture_output=True, timeout=60)  # fmt: skip

    another = subprocess.Popen(["sleep", "300"])  # another program's: the session leaves it be
    session("100", "accuracy", "knobs")  # accuracy needs 150 s, knobs 120: neither starts
    session("200", "accuracy", "knobs")  # both run (each at once, here)
    session("200", "accuracy", "knobs")  # both ran on this machine already
    summary = (out / "summary.txt").read_text().splitlines()
    for line, name in zip(summary[:2], ("accuracy", "knobs"), strict=True):  # a second may pass
        assert re.fullmatch(rf"{name}: skipped, (100|99) s left of 100", line), line
    assert summary[2].startswith("accuracy: exit 0 after ")
    assert summary[3].startswith("knobs: exit 0 after ")
    assert summary[4:] == ["accuracy: run by an earlier call on this machine",
                           "knobs: run by an earlier call on this machine"]  # fmt: skip
    assert (out / "accuracy.log").read_text().startswith("python3 bench/graph_accuracy.py")
    left = dict(line.split()[::-1] for line in (out / "left").read_text().splitlines())
    steps = {pid: mark for pid, mark in left.items() if mark != "none"}  # not torch's version line
    assert sorted(mark.split("-")[0] for mark in steps.values()) == ["accuracy", "knobs"]
    assert not any(_alive(pid) for pid in steps)  # what a step left is killed after it
    assert _alive(another.pid)  # another program's process is left be
    for pid in [*left, another.pid]:
        subprocess.run(["kill", "-9", str(pid)], capture_output=True)


def _alive(pid: int | str) -> bool:
    """Running, not a zombie (whose command line is empty)."""
    try:
        return bool(Path(f"/proc/{pid}/cmdline").read_bytes())
    except OSError:
        return False
