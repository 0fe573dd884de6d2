#!/usr/bin/env bash
# GPU check: given a prebuilt `--features cuda` eyrie binary on a machine with an NVIDIA GPU, measure
# the GPU's own ceilings (PyTorch matrix products), run the bench beside PyTorch (when importable) in
# f32 (burn's CUDA backend with and without kernel fusion) and in bf16; everything under one output folder.
#
#   CUDARC_CUDA_VERSION=13000 cargo build --release --no-default-features --features cuda --bin eyrie
#   scripts/gpu-check.sh target/release/eyrie gpu-out        # quick: the step with and without fusion, bf16 (< 10 min)
#   scripts/gpu-check.sh target/release/eyrie gpu-out full   # also each part, a bf16 run, 1/2/4 workers, and the
#                                                            # quickstart and fusion experiments at the gpu scale (hours)
#   scripts/gpu-check.sh target/release/eyrie gpu-out unfused  # only burn's unfused CUDA backend: the smoke-scale step
#                                                              # first (a fast yes/no), then the gpu scale in f32 and bf16
#
# Each step has its own time limit and a failed step does not stop the next. The kernel caches go to
# OUT/kernel-cache and are packed into OUT/kernel-cache.tar.gz; KERNEL_CACHE_IN=that.tar.gz starts warm. The console log is
# OUT/log.txt, the bench runs OUT/bench/bench.json, each step's exit status in the log's `== rc` lines;
# the smoke-scale runs' results go to $RUNS_DIR (default OUT/runs). BACKEND=flex BENCH_SCALE=smoke
# try the script itself on a machine without a GPU.
set -uo pipefail
bin="${1:?usage: scripts/gpu-check.sh EYRIE_BINARY OUT_DIR [quick|full]}"
out="${2:?usage: scripts/gpu-check.sh EYRIE_BINARY OUT_DIR [quick|full]}"
mode="${3:-quick}"
backend="${BACKEND:-cuda}"
bench_scale="${BENCH_SCALE:-gpu}"
runs="${RUNS_DIR:-$out/runs}"
cd "$(dirname "$0")/.."
mkdir -p "$out/bench"
exec > >(tee -a "$out/log.txt") 2>&1
export PYTHONUNBUFFERED=1
# cudarc loads libcuda and libnvrtc at run time: the toolkit's and PyTorch's wheels' folders as fallbacks.
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib $(python3 -c 'import nvidia, os; print(" ".join(os.path.join(p, s, "lib") for p in nvidia.__path__ for s in os.listdir(p)))' 2>/dev/null); do
  [ -d "$d" ] && LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
done
export LD_LIBRARY_PATH

step() { # step NAME SECONDS COMMAND...: runs COMMAND under a time limit, logs its wall time and status
  local name="$1" limit="$2"; shift 2
  echo "== $name (limit ${limit}s): $*"
  local start=$(date +%s.%N)
  timeout "$limit" "$@"
  local rc=$?
  echo "== rc $rc, $name took $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"
}

echo "== $(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
torch=()
if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
  torch=(--against-torch)
  [ "$mode" != unfused ] && step "matrix-product ceilings (PyTorch, 8192^3)" 40 python3 - <<'EOF'
import torch
a, b = (torch.randn(8192, 8192, device="cuda") for _ in range(2))
for name, dtype, tf32 in [("f32", torch.float32, False), ("tf32", torch.float32, True), ("bf16", torch.bfloat16, False)]:
    torch.backends.cuda.matmul.allow_tf32 = tf32
    x, y = a.to(dtype), b.to(dtype)
    for _ in range(3):
        x @ y
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(10):
        x @ y
    end.record()
    torch.cuda.synchronize()
    print(f"ceiling {name}: {2 * 8192**3 * 10 / (start.elapsed_time(end) / 1e3) / 1e12:.1f} TFLOP/s")
EOF
fi
# Compiled kernels and autotune results: Eyrie's kernel cache under OUT (EYRIE_KERNEL_CACHE), seeded
# from KERNEL_CACHE_IN (the kernel-cache.tar.gz of an earlier run, e.g. on another machine of the
# same kind) when given, and packed again at the end, so that a fresh machine can start warm.
export EYRIE_KERNEL_CACHE="$out/kernel-cache"
mkdir -p "$EYRIE_KERNEL_CACHE"
if [ -n "${KERNEL_CACHE_IN:-}" ]; then
  tar -xzf "$KERNEL_CACHE_IN" -C "$EYRIE_KERNEL_CACHE" && echo "== kernel cache seeded from $KERNEL_CACHE_IN"
fi
first_step() { # first_step DIR: the first-step seconds and kernel count of DIR/bench.json's last record
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))[-1]; print(f\"{r.get('first_step_seconds')} s, {r.get('kernels_compiled')} kernels compiled\")" "$1/bench.json" 2>/dev/null || echo "no record"
}
# The first training step from process start: cold (an empty cache, unless seeded), then warm (a new
# process on the cache the first one filled).
if [ "$mode" != unfused ]; then
  step "first step, cold kernel cache" 300 "$bin" bench --backend "$backend" --scale "$bench_scale" --steps 1 --warmup 0 --step-only --out "$out/first-cold"
  step "first step, warm kernel cache" 120 "$bin" bench --backend "$backend" --scale "$bench_scale" --steps 1 --warmup 0 --step-only --out "$out/first-warm"
  echo "== first step: cold $(first_step "$out/first-cold"); warm $(first_step "$out/first-warm")"
fi
# The bench prints its first steps and every tenth as they finish, so a step cut short by its limit
# still shows how far it got. burn's default CUDA backend (fusion) first, then without fusion.
if [ "$mode" = unfused ] && [ "$backend" = cuda ]; then
  step "bench f32 on cuda-unfused, smoke scale" 90 "$bin" bench --backend cuda-unfused --scale smoke --steps 10 --warmup 2 --step-only "${torch[@]}" --out "$out/bench"
fi
for b in "$backend" "$backend-unfused"; do
  [ "$backend" = cuda ] || [ "$b" = "$backend" ] || continue
  [ "$mode" = unfused ] && [ "$b" = "$backend" ] && [ "$backend" = cuda ] && continue
  step "bench f32 on $b, $bench_scale scale" 180 "$bin" bench --backend "$b" --scale "$bench_scale" --steps 10 --warmup 2 --step-only "${torch[@]}" --out "$out/bench"
done
[ "$backend" = cuda ] && b=cuda-unfused || b="$backend"
step "bench bf16 on $b, $bench_scale scale" 120 "$bin" bench --backend "$b" --scale "$bench_scale" --precision bf16 --steps 10 --warmup 2 --step-only "${torch[@]}" --out "$out/bench"
if [ "$mode" = full ]; then
  step "bench f32 with each part, $bench_scale scale" 600 "$bin" bench --backend "$backend" --scale "$bench_scale" --steps 20 --warmup 3 "${torch[@]}" --out "$out/bench"
  step "quickstart at the smoke scale in bf16" 300 "$bin" run experiments/quickstart.toml --backend "$b" --scale smoke --precision bf16 --quiet \
    --results "$runs/quickstart-bf16/results" --reports "$runs/quickstart-bf16/reports"
  cp "$runs/quickstart-bf16/reports/quickstart/report.md" "$out/quickstart-bf16.md" 2>/dev/null
  # Workers: a first run fills the kernel caches, then 1, 2 and 4 workers from empty results folders.
  for w in warm 1 2 4; do
    step "fusion at the smoke scale, $w workers" 900 "$bin" run experiments/fusion.toml --backend "$backend" --scale smoke --workers "${w/warm/1}" --quiet \
      --results "$runs/fusion-w$w/results" --reports "$runs/fusion-w$w/reports"
  done
  for exp in quickstart fusion; do
    step "$exp at the gpu scale, 4 workers" 86400 "$bin" run "experiments/$exp.toml" --backend "$backend" --scale gpu --workers 4 --quiet \
      --results "$out/results" --reports "$out/reports"
  done
fi
tar -czf "$out/kernel-cache.tar.gz" -C "$EYRIE_KERNEL_CACHE" . && echo "== kernel cache packed: $out/kernel-cache.tar.gz ($(du -h "$out/kernel-cache.tar.gz" | cut -f1))"
echo "== done: $out"
