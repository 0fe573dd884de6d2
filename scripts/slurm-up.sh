#!/usr/bin/env bash
# Brings up a one-node Slurm cluster on this machine (for testing the Slurm executor, e.g. in CI);
# `scripts/slurm-down.sh` takes it down again.
#
#   scripts/slurm-up.sh [STATE_DIR]      # default STATE_DIR=$HOME/.cache/eyrie-slurm
#   SLURM_PROCTRACK=linuxproc scripts/slurm-up.sh   # process tracking plugin (default pgid, see below)
#
# Steps, each skipped when already done (running it twice leaves one cluster running):
#   1. installs Debian's (or Ubuntu's) `slurmctld slurmd slurm-client munge` if a command is missing
#      (`apt-get update` only if the install fails without it);
#   2. creates /etc/munge/munge.key (munge:munge, 0400) if there is none, /run/munge, and starts munged
#      as the munge user unless `munge -n | unmunge` already works;
#   3. writes /etc/slurm/slurm.conf (the Debian packages' default path): one node named `hostname -s` on
#      127.0.0.1 with the CPUs, topology and RealMemory that `slurmd -C` measures, one partition `debug`;
#      state, spool, pid, log and job-completion files all under STATE_DIR;
#   4. starts slurmctld and slurmd (pid files STATE_DIR/slurmctld.pid, slurmd.pid; munged's pid goes to
#      STATE_DIR/munged.pid) and waits up to 60 s for `sinfo` to show the node idle (resuming it if it
#      comes up down or drained); on timeout prints the logs and exits 1.
# The last line printed is how long the setup took.
#
# Facts it relies on (measured with Debian 12's Slurm 22.05 on a 2-core VM without systemd):
#   - proctrack/pgid (or linuxproc) + task/none need no cgroups (no systemd, no cgroup.conf; containers
#     work). pgid kills the job's whole process group, so nothing outlives a cancelled job unless it
#     calls setsid. linuxproc kills the process tree it finds in /proc: a process whose parent died first
#     (`kill -9` of the batch shell; once in ~50 tries a scancel 50 ms after launch) is left running.
#     pgid's scancel waits until the group's zombies are reaped (checks after 1 s, then 2 s): a cancel
#     took 0.5 s on average where they are reaped at once, 2.7 s under this VM's init, which reaps
#     orphans only every ~2 s (linuxproc: 0.1 s);
#   - select/cons_tres with CR_Core_Memory needs a DefMemPerCPU, else every job without --mem is given
#     the whole node's memory and jobs run one at a time;
#   - batch_sched_delay=0: batch jobs start at once; kill_invalid_depend: a job whose dependency can never
#     be met (e.g. afterok on a failed job) is cancelled instead of pending forever;
#   - SlurmUser=root: no slurm user or file ownership to arrange; jobs still run as their submitter
#     (who must be able to reach SlurmdSpoolDir, i.e. STATE_DIR must be under a directory they can enter);
#   - sacct needs slurmdbd (accounting_storage/none here); finished jobs with their state are appended to
#     STATE_DIR/jobcomp.txt (jobcomp/filetxt) instead;
#   - Debian's munge postinst creates a key itself; it also starts munge.service where services may start
#     (systemd, no policy-rc.d denying it): that munged is then reused and its pid recorded so that
#     slurm-down.sh stops it too (the slurm units need slurm.conf, absent at install, so do not start).
# Not root: the commands that need root go through sudo. In CI run it as the user who will submit jobs,
# not under sudo (whose HOME may be /root, which other users cannot enter).
set -euo pipefail

t0=$(date +%s.%N)
PATH="$PATH:/usr/sbin:/sbin"  # slurmd, slurmctld, munged (not in a Debian user's PATH)
state="${1:-$HOME/.cache/eyrie-slurm}"
mkdir -p "$state"
state=$(cd "$state" && pwd)
proctrack="${SLURM_PROCTRACK:-pgid}"
conf=/etc/slurm/slurm.conf

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
log() { echo "slurm-up: $*" >&2; }
# running PID: the process exists and is not a zombie (an exited child that init has not reaped yet;
# some container inits reap late).
running() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
# alive NAME PIDFILE: the pid in PIDFILE is a running process called NAME.
alive() {
    local pid
    pid=$(cat "$2" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && running "$pid"
}
munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
show_logs() {
    local f
    for f in "$state/slurmctld.log" "$state/slurmd.log" /var/log/munge/munged.log; do
        echo "==== $f (last 60 lines)" >&2
        as_root tail -n 60 "$f" >&2 2>/dev/null || true
    done
}

# 1. Packages.
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
    || ! command -v munged >/dev/null; then
    log "installing slurmctld slurmd slurm-client munge"
    t_install=$(date +%s.%N)
    install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends
             slurmctld slurmd slurm-client munge)
    if ! as_root "${install[@]}"; then
        log "install failed; apt-get update and retry"
        as_root apt-get update
        as_root "${install[@]}"
    fi
    log "installed in $(awk -v a="$t_install" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
fi

# 2. Munge.
if ! as_root test -s /etc/munge/munge.key; then
    log "creating /etc/munge/munge.key"
    as_root mkdir -p /etc/munge
    as_root dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
as_root chown munge:munge /etc/munge/munge.key
as_root chmod 0400 /etc/munge/munge.key
if munge_ok; then
    # Already running (ours from an earlier run, or started by the package): record its pid if we can.
    if ! alive munged "$state/munged.pid" && [ -r /run/munge/munged.pid ]; then
        cp /run/munge/munged.pid "$state/munged.pid"
    fi
else
    as_root mkdir -p /run/munge /var/lib/munge /var/log/munge
    as_root chown munge:munge /run/munge /var/lib/munge /var/log/munge
    as_root chmod 0755 /run/munge
    log "starting munged"
    # --force: start even if a killed munged left its socket behind.
    as_root runuser -u munge -- /usr/sbin/munged --force
    for _ in $(seq 50); do munge_ok && break; sleep 0.2; done
    munge_ok || { log "munged does not answer"; show_logs; exit 1; }
    cp /run/munge/munged.pid "$state/munged.pid"
fi

# 3. slurm.conf.
node=$(hostname -s)
# e.g. "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
hw=$(slurmd -C | awk '/^NodeName=/ { $1 = ""; sub(/^ /, ""); print; exit }')
cpus=$(sed -n 's/.*\bCPUs=\([0-9]*\).*/\1/p' <<<"$hw")
mem=$(sed -n 's/.*\bRealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
if [ -z "$cpus" ] || [ -z "$mem" ]; then log "cannot read CPUs/RealMemory from slurmd -C: $hw"; exit 1; fi
mkdir -p "$state/state" "$state/spool"
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 && ! runuser -u nobody -- test -x "$state/spool" 2>/dev/null; then
    log "warning: other users cannot enter $state/spool: their jobs will fail (execve: Permission denied," \
        "exit 13); run this as the user who submits (it uses sudo), or pass a STATE_DIR such as /tmp/eyrie-slurm"
fi
new_conf=$(cat <<EOF
# Written by scripts/slurm-up.sh (state dir $state); a one-node test cluster.
ClusterName=eyrie
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/state
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/$proctrack
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$((mem / cpus))
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
DependencyParameters=kill_invalid_depend
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
KillWait=5
InactiveLimit=0
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$state/jobcomp.txt
NodeName=$node NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
)
if [ "$(cat "$conf" 2>/dev/null || true)" != "$new_conf" ]; then
    # Daemons started with the old slurm.conf (perhaps another STATE_DIR: one cluster per machine) stop first.
    old_state=$(sed -n 's|^SlurmdPidFile=\(.*\)/slurmd\.pid$|\1|p' "$conf" 2>/dev/null || true)
    old_state=${old_state:-$state}
    if alive slurmctld "$old_state/slurmctld.pid" || alive slurmd "$old_state/slurmd.pid"; then
        log "slurm.conf changed: restarting the Slurm daemons"
        "$(dirname "$0")/slurm-down.sh" --slurm-only "$old_state"
    fi
    log "writing $conf"
    as_root mkdir -p "$(dirname "$conf")"
    printf '%s\n' "$new_conf" | as_root tee "$conf" >/dev/null
fi

# 4. Daemons.
if ! alive slurmctld "$state/slurmctld.pid"; then
    log "starting slurmctld"
    as_root slurmctld
fi
slurmd_since=0
if ! alive slurmd "$state/slurmd.pid"; then
    log "starting slurmd"
    slurmd_since=$(date +%s)
    as_root slurmd
fi
# registered: the node's slurmd has registered since slurmd_since (slurmctld may still show the node
# idle from before, e.g. when only slurmd was restarted).
registered() {
    local t
    [ "$slurmd_since" -eq 0 ] && return 0
    t=$(scontrol show node -o "$node" 2>/dev/null | sed -n 's/.*SlurmdStartTime=\([^ ]*\).*/\1/p')
    [ -n "$t" ] && [ "$t" != None ] && [ "$(date -d "$t" +%s 2>/dev/null || echo 0)" -ge "$slurmd_since" ]
}
deadline=$((SECONDS + 60)) next_resume=0
while :; do
    st=$(sinfo -h -n "$node" -o %T 2>/dev/null || true)
    if { [ "$st" = idle ] && registered; } || [ "$SECONDS" -ge "$deadline" ]; then break; fi
    case "$st" in
        down | drain*)  # responding (no "*") but down or drained: resume, every 5 s at most
            if [ "$SECONDS" -ge "$next_resume" ]; then
                log "node is $st: resuming"
                as_root scontrol update nodename="$node" state=resume || true
                next_resume=$((SECONDS + 5))
            fi ;;
    esac
    sleep 0.2
done
if [ "$st" != idle ] || ! registered; then
    reg=no
    if registered; then reg=yes; fi
    log "node $node not idle after 60 s (state: ${st:-none}; slurmd registered since start: $reg)"
    show_logs
    exit 1
fi
echo "slurm-up: one-node cluster ($node, $cpus CPUs, $mem MB) up in" \
    "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s (state in $state)"
