"""The benchmark scripts import each other as they do when run: from bench/, on the path."""

import sys
from pathlib import Path

BENCH = str(Path(__file__).resolve().parents[2] / "bench")
if BENCH not in sys.path:
    sys.path.append(BENCH)  # appended: a bench script never shadows an installed module
