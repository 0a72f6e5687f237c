"""bench/gpu_session.sh runs every test marked `gpu`: a GPU call is too rare to miss one."""

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
