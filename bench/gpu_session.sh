#!/usr/bin/env bash
# The GPU figures and tests the open issues ask for, in order of worth, in one device call: it
# starts no step it has not the step's seconds left for, of SECONDS (default 540: a 10-minute
# call). On the offline GPU machine, after `bash ../shared/gpu/prepare --ray` here
# (../shared/gpu/README.md), carrying [".gpu"]:
#   source .gpu/setup.sh && bash bench/gpu_session.sh 540           # tests, then images
#   source .gpu/setup.sh && bash bench/gpu_session.sh 580 sharing   # later calls: steps left
# Each step's output goes to $OUT/NAME.log (or ./gpu-session/ without $OUT), with its exit status.
#   1 tests    pytest -m gpu: the whole path on CUDA, sharing, OOM, the step as a CUDA graph,
#              exact resume (issue 15 items 1 and 3)
#   2 images   images/s eager, as a CUDA graph and compiled, per model and batch (issue 15 item 1)
#   3 sharing  trials per hour with 1, 2, 4 trials per GPU, the default rule, and with CUDA
#              graphs (autog; issue 15 item 2)
#   4 gain     the default search against the zoo's best at 20 epochs, 24 trials (issue 13)
set -uo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
budget=${1:-540}
[[ "$budget" =~ ^[0-9]+$ ]] || { echo "gpu_session: SECONDS must be a number, got '$budget'"; exit 2; }
shift || true
steps=${*:-tests images sharing gain}
for name in $steps; do
  [[ " tests images sharing gain " == *" $name "* ]] \
    || { echo "gpu_session: unknown step '$name'; allowed: tests images sharing gain"; exit 2; }
done
out=${OUT:-gpu-session}
mkdir -p "$out"
step() {  # step NAME SECONDS COMMAND...: run it if asked and that many seconds are left
  local name=$1 need=$2 left
  shift 2
  [[ " $steps " == *" $name "* ]] || return 0
  left=$((budget - ($(date +%s) - start)))
  if [ "$left" -lt "$need" ]; then
    echo "$name: skipped, $left s left of $budget" | tee -a "$out/summary.txt"
    return
  fi
  timeout -k 30 "$need" "$@" > "$out/$name.log" 2>&1
  echo "$name: exit $? after $(($(date +%s) - start)) s" | tee -a "$out/summary.txt"
  ray stop --force > /dev/null 2>&1 || true  # nothing a killed step started keeps the GPU
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.txt" 2>&1
step tests 300 python3 -m pytest -m gpu -q -p no:cacheprovider
step images 230 python3 bench/gpu_fill.py --skip-trials
step sharing 480 python3 bench/gpu_fill.py --skip-images --minutes 1 --settings 1 2 4 auto autog
db=sqlite:////tmp/gain.db  # SIGTERM at 440 s stops the run as Ctrl-C would; status says how far
step gain 500 bash -c "timeout 440 python3 -m search run --study gain --trials 24 --epochs 20 \
  --storage $db; rc=\$?; python3 -m search status --study gain --storage $db --best 12; exit \$rc"
exit 0
