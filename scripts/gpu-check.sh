#!/usr/bin/env bash
# GPU check: given a prebuilt `--features cuda` eyrie binary on a machine with an NVIDIA GPU, run the
# bench (beside PyTorch when it is importable) and the quickstart and fusion experiments at the `gpu`
# scale, everything under one output folder.
#
#   cargo build --release --no-default-features --features cuda --bin eyrie   # on the build machine
#   scripts/gpu-check.sh target/release/eyrie gpu-out                          # on the GPU machine
#
# Stops at the first failure. Each experiment's results and report land in OUT/results and
# OUT/reports; bench.json in OUT/reports/bench; the console log in OUT/log.txt.
set -euo pipefail
bin="${1:?usage: scripts/gpu-check.sh EYRIE_BINARY OUT_DIR [WORKERS]}"
out="${2:?usage: scripts/gpu-check.sh EYRIE_BINARY OUT_DIR [WORKERS]}"
workers="${3:-4}"
cd "$(dirname "$0")/.."
mkdir -p "$out"
exec > >(tee -a "$out/log.txt") 2>&1
echo "== $(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
torch=()
if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then torch=(--against-torch); fi
echo "== bench (cuda, gpu scale) ${torch[*]:-without PyTorch}"
"$bin" bench --backend cuda --scale gpu --steps 20 --warmup 5 "${torch[@]}" --out "$out/reports/bench"
for exp in quickstart fusion; do
  echo "== $exp at the gpu scale, $workers workers"
  start=$(date +%s)
  "$bin" run "experiments/$exp.toml" --backend cuda --scale gpu --workers "$workers" --quiet \
    --results "$out/results" --reports "$out/reports"
  echo "== $exp took $(( $(date +%s) - start )) s"
done
echo "== done: $out"
