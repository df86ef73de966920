#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the SLURM tests and for trying profiles/slurm.
#
#   sudo bash scripts/local_slurm.sh          # install (apt) if needed, configure, start, wait idle
#   sudo bash scripts/local_slurm.sh stop     # stop slurmd, slurmctld and munged
#
# Debian/Ubuntu only (apt-get), as root; no systemd needed: the daemons are started directly.
# Idempotent: a second start with the daemons up and the config unchanged only checks `sinfo`.
# The controller and the node talk over a real local IPv4 address (slurmctld cannot serve on a
# loopback-only host); override it with LOCAL_SLURM_ADDR. Nothing leaves this machine.
# Accounting is off (so `sacct` fails: use `slurm-status-command: squeue`); every finished job
# is appended to the job completion log /var/log/slurm/jobcomp.log, which tests read to check
# that jobs went through sbatch.
set -euo pipefail

packages=(munge slurmctld slurmd slurm-client)
conf=/etc/slurm/slurm.conf
log_dir=/var/log/slurm
jobcomp_log="$log_dir/jobcomp.log"
ctld_pid=/run/slurmctld.pid
slurmd_pid=/run/slurmd.pid
munge_pid=/run/munge/munged.pid
munge_log=/var/log/munge/munged.log
partition="${LOCAL_SLURM_PARTITION:-local}"
timeout_s="${LOCAL_SLURM_TIMEOUT:-90}"

say() { echo "local_slurm: $*" >&2; }

dump_logs() {
    local f
    for f in "$munge_log" "$log_dir/slurmctld.log" "$log_dir/slurmd.log"; do
        [ -f "$f" ] && { echo "--- last lines of $f" >&2; tail -n 25 "$f" >&2; }
    done
    return 0
}

die() {
    echo "error: local_slurm: $*" >&2
    dump_logs
    exit 1
}

# Whether the daemon whose pid file is $1 runs, as program $2 (a stale pid file can name a
# recycled pid, hence the name check).
alive() {
    local pid
    pid="$(cat "$1" 2>/dev/null)" || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

stop_daemon() {  # pid file, program name
    local pid i
    alive "$1" "$2" || { rm -f "$1"; return 0; }
    pid="$(cat "$1")"
    kill "$pid"
    for i in $(seq 50); do
        alive "$1" "$2" || { rm -f "$1"; return 0; }
        sleep 0.2
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$1"
}

stop_all() {
    stop_daemon "$slurmd_pid" slurmd
    stop_daemon "$ctld_pid" slurmctld
    stop_daemon "$munge_pid" munged
}

install_packages() {
    local missing=0 p
    for p in munged slurmctld slurmd sbatch sinfo; do
        command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] || missing=1
    done
    [ "$missing" = 0 ] && return 0
    command -v apt-get >/dev/null || die "SLURM is not installed and apt-get is missing; install ${packages[*]} yourself"
    say "installing ${packages[*]} (apt-get)"
    local apt_log policy=/usr/sbin/policy-rc.d
    apt_log="$(mktemp)"
    # Keep the packages' init scripts from starting daemons before the config exists: this
    # script starts them. (Docker images ship such a policy already.)
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        trap "rm -f '$policy'" EXIT
    fi
    if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
        --no-install-recommends "${packages[@]}"; } >"$apt_log" 2>&1; then
        tail -n 30 "$apt_log" >&2
        die "apt-get install ${packages[*]} failed"
    fi
    rm -f "$apt_log"
}

# The first global IPv4 address: slurmctld and slurmd reach each other there.
local_ipv4() {
    local addr
    if [ -n "${LOCAL_SLURM_ADDR:-}" ]; then
        echo "$LOCAL_SLURM_ADDR"
        return
    fi
    for addr in $(hostname -I 2>/dev/null); do
        case "$addr" in
        *:* | 127.*) ;;
        *) echo "$addr"; return ;;
        esac
    done
    addr="$(ip -4 -o addr show scope global 2>/dev/null | awk '{sub(/\/.*/, "", $4); print $4; exit}')"
    [ -n "$addr" ] || die "no non-loopback IPv4 address found; set LOCAL_SLURM_ADDR"
    echo "$addr"
}

config_changed=0
write_config() {  # node name, address; sets config_changed=1 when the file changed
    local node="$1" addr="$2" cpus mem_mb new
    cpus="$(nproc)"
    # Leave a tenth of the memory (at least 512 MB) to the OS and the daemons.
    mem_mb="$(free -m | awk '/^Mem:/ {r = int($2 * 0.9); if ($2 - r < 512) r = $2 - 512; print r}')"
    [ "$mem_mb" -gt 0 ] || die "too little memory for a SLURM node ($(free -m | awk '/^Mem:/ {print $2}') MB)"
    new="$(mktemp)"
    cat >"$new" <<EOF
# Written by scripts/local_slurm.sh: a one-node test cluster. Rewritten on every start.
ClusterName=local
SlurmctldHost=$node($addr)
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=$ctld_pid
SlurmdPidFile=$slurmd_pid
SlurmctldLogFile=$log_dir/slurmctld.log
SlurmdLogFile=$log_dir/slurmd.log
# No cgroups (containers rarely allow them): track job processes by parent pid.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$jobcomp_log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Jobs without --mem get this much per CPU instead of the whole node's memory.
DefMemPerCPU=512
# Finished jobs stay visible to squeue this long (seconds): the snakemake plugin polls with
# squeue and needs at least 3x its first status delay, and more than its longest poll gap (180 s).
MinJobAge=300
# Kill jobs exactly at their time limit, and quickly (seconds between SIGTERM and SIGKILL).
OverTimeLimit=0
KillWait=2
# A node that comes back with a valid config is usable again, e.g. after a restart of slurmd.
ReturnToService=2
SlurmdParameters=config_overrides
MpiDefault=none
NodeName=$node NodeAddr=$addr CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$partition Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    if cmp -s "$new" "$conf"; then
        rm -f "$new"
    else
        install -m 0644 "$new" "$conf"
        rm -f "$new"
        config_changed=1
    fi
}

start_munge() {
    alive "$munge_pid" munged && return 0
    [ -s /etc/munge/munge.key ] || runuser -u munge -- mungekey --create
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
    runuser -u munge -- /usr/sbin/munged || die "munged failed to start"
}

start_slurm() {  # node name
    install -d -o slurm -g slurm -m 0755 "$log_dir" /var/lib/slurm/slurmctld /var/lib/slurm/slurmd
    if ! alive "$ctld_pid" slurmctld; then
        /usr/sbin/slurmctld || die "slurmctld failed to start"
    fi
    if ! alive "$slurmd_pid" slurmd; then
        /usr/sbin/slurmd -N "$1" || die "slurmd failed to start"
    fi
}

wait_idle() {  # node name
    local deadline state="" i=0
    deadline=$((SECONDS + timeout_s))
    while [ "$SECONDS" -lt "$deadline" ]; do
        state="$(sinfo -h -N -n "$1" -o %t 2>/dev/null | head -n 1)" || state=""
        case "$state" in
        idle | mix | alloc) return 0 ;;
        # A node left down or drained by an earlier run: give it back to the scheduler.
        down* | drain* | drng*)
            i=$((i + 1))
            [ $((i % 10)) = 1 ] && scontrol update nodename="$1" state=resume >/dev/null 2>&1 || true
            ;;
        esac
        alive "$ctld_pid" slurmctld || die "slurmctld exited"
        alive "$slurmd_pid" slurmd || die "slurmd exited"
        sleep 0.5
    done
    die "node $1 not idle after ${timeout_s}s (sinfo state: '${state:-no answer}')"
}

start() {
    local node addr
    [ "$(id -u)" = 0 ] || die "run as root (e.g. sudo bash $0)"
    install_packages
    node="$(hostname -s)"
    addr="$(local_ipv4)"
    write_config "$node" "$addr"
    if [ "$config_changed" = 1 ]; then
        say "wrote $conf (node $node at $addr); (re)starting the daemons"
        stop_daemon "$slurmd_pid" slurmd
        stop_daemon "$ctld_pid" slurmctld
    fi
    touch "$jobcomp_log"
    chown slurm:slurm "$jobcomp_log"
    start_munge
    start_slurm "$node"
    wait_idle "$node"
    say "cluster up: partition '$partition', node $node ($addr); job completion log $jobcomp_log"
}

case "${1:-start}" in
start) start ;;
stop) stop_all ;;
*) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
