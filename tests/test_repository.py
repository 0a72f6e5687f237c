"""What the commands write by default where they run is ignored by git, so that a newcomer's
`git status` after the README's tour shows only their own changes."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUTS = [
    "search.db", "search.db-wal", "search-checkpoints/demo/7/checkpoint.pt",  # search run
    "checkpoints/demo/7/checkpoint.pt",  # search run on PostgreSQL
    "best.yaml", "best.json",  # search export
    "report/index.html",  # search report
    "runs/best/model.pt",  # search train, evaluate
    "submission.csv",  # search predict
]  # fmt: skip


@pytest.mark.skipif(not (ROOT / ".git").exists() or not shutil.which("git"),
                    reason="not a git checkout: nothing to ignore")  # fmt: skip
def test_the_default_outputs_are_ignored():
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "--verbose", "--non-matching", *DEFAULT_OUTPUTS],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    not_ignored = [line.split("\t")[-1] for line in result.stdout.splitlines() if line[:2] == "::"]
    assert not not_ignored, not_ignored
    assert result.returncode == 0, result.stderr
