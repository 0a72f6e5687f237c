#!/usr/bin/env bash
# Set everything up on a fresh machine: a virtual environment in .venv with the project and its
# dev tools, CIFAR-10 in the default data cache when ../shared/data has a copy, and (as root,
# where apt-get is) Debian's chromium and chromium-driver for the dashboard's browser test.
# Says in one line what each step does; pip and apt-get speak only of errors (pip -qq: its
# warnings here are about the machine's package index settings, not about this project).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "setup: $*"; }
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
  .venv/bin/pip install -qq --upgrade pip
fi
# torch first, pinned: on machines with a local wheel cache this is the build taken from disk.
say "installing torch 2.14.1 and torchvision 0.29.1 (minutes, the first time)"
.venv/bin/pip install -qq torch==2.14.1 torchvision==0.29.1
say "installing the project, editable, with its dev tools (pytest, ruff, selenium)"
.venv/bin/pip install -qq -e '.[dev]'
data=${SEARCH_DATA_DIR:-$HOME/.cache/search/cifar10}
if [ -f "$data/cifar-10-batches-py/test_batch" ]; then
  say "CIFAR-10 is in $data"
elif [ -f ../shared/data/cifar10/make_cifar10.py ]; then
  say "writing CIFAR-10 to $data"
  .venv/bin/python ../shared/data/cifar10/make_cifar10.py "$data" >/dev/null
else
  say "no CIFAR-10 in $data: the first run downloads it (or see the README's Data section)"
fi
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  say "chromium and chromedriver are installed (the dashboard's browser test runs)"
elif command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  say "installing Debian's chromium and chromium-driver for the dashboard's browser test"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 \
         && apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1; } \
    || say "apt-get could not install them: the browser test will be skipped, saying so"
else
  say "no chromium: the browser test will be skipped, saying so (run this as root where" \
      "apt-get is, or install Debian's chromium and chromium-driver)"
fi
say "done: .venv/bin/search --help"
