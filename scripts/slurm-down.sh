#!/usr/bin/env bash
# Takes down the one-node Slurm cluster that `scripts/slurm-up.sh` started.
#
#   scripts/slurm-down.sh [--slurm-only] [STATE_DIR]   # default STATE_DIR=$HOME/.cache/eyrie-slurm
#
# Cancels any jobs left, then stops the daemons by the pids in STATE_DIR, Slurm before munge (slurmd,
# slurmctld, then munged; --slurm-only leaves munged running), each with SIGTERM and, after 30 s,
# SIGKILL, and waits for each to exit. Packages, /etc/slurm/slurm.conf, the munge key and STATE_DIR
# (logs, jobcomp.txt, saved state) stay, so slurm-up.sh starts again quickly.
#
# Facts it relies on: slurmd leaves running jobs' slurmstepd processes alive when it stops (so jobs are
# cancelled first, and any slurmstepd still left afterwards is killed); slurmctld and slurmd write their
# pid files themselves (SlurmctldPidFile, SlurmdPidFile); munged's pid is copied by slurm-up.sh.
# Not root: the commands that need root go through sudo.
set -euo pipefail

PATH="$PATH:/usr/sbin:/sbin"
slurm_only=0
if [ "${1:-}" = --slurm-only ]; then slurm_only=1; shift; fi
state="${1:-$HOME/.cache/eyrie-slurm}"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
log() { echo "slurm-down: $*" >&2; }
# running PID: the process exists and is not a zombie (an exited child that init has not reaped yet;
# some container inits reap late).
running() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
# alive NAME PIDFILE: the pid in PIDFILE is a running process called NAME.
alive() {
    local pid
    pid=$(cat "$2" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && running "$pid"
}
# stop NAME PIDFILE: SIGTERM, wait (SIGKILL after 30 s), remove the pid file.
stop() {
    local pid i
    if alive "$1" "$2"; then
        pid=$(cat "$2")
        log "stopping $1 ($pid)"
        as_root kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 300); do
            running "$pid" || break
            [ "$i" -eq 300 ] && { log "$1 ($pid) ignores SIGTERM: SIGKILL"; as_root kill -KILL "$pid" 2>/dev/null || true; }
            sleep 0.1
        done
        while running "$pid"; do sleep 0.1; done
    fi
    as_root rm -f "$2"
}

if alive slurmctld "$state/slurmctld.pid"; then
    mapfile -t jobs < <(squeue -h -o %A 2>/dev/null || true)
    if [ "${#jobs[@]}" -gt 0 ]; then
        log "cancelling ${#jobs[@]} job(s)"
        as_root scancel --full "${jobs[@]}" 2>/dev/null || true
        for _ in $(seq 100); do
            [ -z "$(squeue -h -t running,completing -o %A 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
fi
stop slurmd "$state/slurmd.pid"
stop slurmctld "$state/slurmctld.pid"
# Job steps that outlived slurmd (only possible if cancelling failed): kill them by pid.
for p in /proc/[0-9]*; do
    if [ "$(cat "$p/comm" 2>/dev/null)" = slurmstepd ]; then
        log "killing leftover slurmstepd ${p#/proc/}"
        as_root kill -KILL "${p#/proc/}" 2>/dev/null || true
    fi
done
if [ "$slurm_only" -eq 0 ]; then
    stop munged "$state/munged.pid"
fi
log "stopped"
