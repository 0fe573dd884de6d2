#!/usr/bin/env bash
# Runs experiments on a machine with an NVIDIA GPU with a prebuilt `--features cuda` binary, and packs
# the result records (not the checkpoints) into one archive.
#
#   scripts/gpu-run.sh BINARY OUT_DIR EXPERIMENT.toml [EXPERIMENT.toml ...]
#
# Stages already in ./results (e.g. pretraining carried from a CPU run) are reused, as everywhere.
# Extra arguments for `eyrie run` can be passed in EYRIE_RUN_ARGS (e.g. "--workers 4"); EYRIE_TIMEOUT
# (seconds) stops each run in time to pack what finished (the cache resumes the rest later).
set -uo pipefail
bin=$1; out=$2; shift 2
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$out/gpu.txt" 2>&1
status=0
for spec in "$@"; do
    name=$(basename "$spec" .toml)
    start=$(date +%s)
    timeout "${EYRIE_TIMEOUT:-0}" "$bin" run "$spec" --backend cuda ${EYRIE_RUN_ARGS:-} 2>&1 | tee "$out/$name.log" || status=1
    echo "wall_seconds $(( $(date +%s) - start ))" >> "$out/$name.log"
done
# The whole results folder (checkpoints too, so a CPU run can resume unfinished cells), in parts of
# 15 MB: reassemble with `cat results.tgz.part* | tar xz`.
tar czf - results | split -b 15M - "$out/results.tgz.part"
tar czf "$out/reports.tgz" reports 2>/dev/null
exit $status
