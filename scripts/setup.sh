#!/usr/bin/env bash
# Set everything up on a fresh machine: a virtual environment in .venv with the project and its
# dev tools, and CIFAR-10 in the default data cache when ../shared/data has a copy.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
# torch first, pinned: on machines with a local wheel cache this is the build taken from disk.
.venv/bin/pip install -q torch==2.14.1 torchvision==0.29.1
.venv/bin/pip install -q -e '.[dev]'
data=${SEARCH_DATA_DIR:-$HOME/.cache/search/cifar10}
if [ ! -f "$data/cifar-10-batches-py/test_batch" ] && [ -f ../shared/data/cifar10/make_cifar10.py ]; then
  .venv/bin/python ../shared/data/cifar10/make_cifar10.py "$data"
fi
