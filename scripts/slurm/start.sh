#!/usr/bin/env bash
# Brings up a throwaway single-node Slurm cluster on this machine for the integration
# tests: munged (reused if one already runs), slurmctld and slurmd, all listening on
# 127.0.0.1 only, with configuration, state, spool, logs and pid files under DIR.
#
#   eval export "$(scripts/slurm/start.sh DIR)"   # prints SLURM_CONF=DIR/slurm.conf
#   ...
#   scripts/slurm/stop.sh DIR
#
# DIR is an empty or new folder. Installs slurm-wlm and munge with apt-get when they are
# missing (needs root). Exit status: 0 the node is idle and takes jobs; 1 the cluster did
# not come up (daemon log tails on stderr, whatever started is stopped again); 2 Slurm
# is missing and cannot be installed, or bad usage.
#
# Knobs (environment): REM_SLURM_CTLD_PORT (6817), REM_SLURM_SLURMD_PORT (6818),
# REM_SLURM_WAIT (seconds to wait for the node, 60).
set -euo pipefail

# Only the SLURM_CONF line goes to stdout; everything else is for a person.
log() { echo "start.sh: $*" >&2; }

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi

# The daemons live in sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"
here=$(cd "$(dirname "$0")" && pwd)
ctld_port=${REM_SLURM_CTLD_PORT:-6817}
slurmd_port=${REM_SLURM_SLURMD_PORT:-6818}
wait_s=${REM_SLURM_WAIT:-60}

# --- packages --------------------------------------------------------------------------
missing=0
for cmd in slurmctld slurmd sbatch munged; do
    command -v "$cmd" >/dev/null 2>&1 || missing=1
done
if [ "$missing" = 1 ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "start.sh: slurm-wlm and munge are not installed and cannot be (needs root and apt-get)" >&2
        exit 2
    fi
    apt_install() {
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            slurm-wlm munge >&2
    }
    log "installing slurm-wlm and munge"
    # A stale or empty package list is the usual reason for a failed install.
    if ! apt_install && ! { apt-get update >&2 && apt_install; }; then
        echo "start.sh: apt-get could not install slurm-wlm and munge" >&2
        exit 2
    fi
fi

mkdir -p "$1"
DIR=$(cd "$1" && pwd)
conf="$DIR/slurm.conf"
# A client without a configuration looks its controller up through DNS.
export SLURM_CONF="$conf"
mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/run"

# fail MESSAGE: says why, shows the daemons' last log lines, stops what was started.
fail() {
    echo "start.sh: $*" >&2
    for f in "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log"; do
        [ -f "$f" ] || continue
        echo "--- tail of $f" >&2
        tail -n 20 "$f" >&2
    done
    "$here/stop.sh" "$DIR" >&2 || true
    exit 1
}

# A cluster left running (or anything else) on our ports would answer in our place.
for port in "$ctld_port" "$slurmd_port"; do
    if timeout 2 bash -c ">/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
        echo "start.sh: port $port on 127.0.0.1 is already in use (a cluster not stopped?)" >&2
        exit 1
    fi
done

# --- munge -----------------------------------------------------------------------------
key=/etc/munge/munge.key
if [ ! -s "$key" ]; then
    log "creating $key"
    install -d -o munge -g munge -m 0700 /etc/munge
    if command -v mungekey >/dev/null 2>&1; then
        mungekey --create --keyfile="$key" --force >&2
    else
        dd if=/dev/urandom of="$key" bs=1 count=1024 status=none
    fi
fi
# munged refuses a key that others can read or that it does not own.
chown munge:munge "$key"
chmod 0400 "$key"

if munge -n >/dev/null 2>&1; then
    log "reusing the munged that already runs"
else
    # munged refuses to run as root; its socket and pid file live in /run/munge.
    install -d -o munge -g munge -m 0755 /run/munge
    runuser -u munge -- munged </dev/null >/dev/null 2>&1 \
        || fail "munged did not start (see /var/log/munge/munged.log)"
    for _ in $(seq 50); do
        munge -n >/dev/null 2>&1 && break
        sleep 0.1
    done
    # Only a munged that we started is ours to stop (stop.sh reads this file).
    cp /run/munge/munged.pid "$DIR/run/munged.pid" 2>/dev/null || true
    munge -n >/dev/null 2>&1 || fail "munged does not answer (see /var/log/munge/munged.log)"
fi

# --- configuration ---------------------------------------------------------------------
host=$(hostname -s)
# slurmd -C describes this machine as a node line; a RealMemory above what slurmd later
# measures would mark the node invalid, so the cluster claims half of it.
node=$(env -u SLURM_CONF slurmd -C | awk -v h="$host" '/^NodeName=/ {
    for (i = 1; i <= NF; i++) {
        if ($i ~ /^NodeName=/) $i = "NodeName=" h
        if ($i ~ /^RealMemory=/) { split($i, m, "="); $i = "RealMemory=" int(m[2] / 2) }
    }
    print }')
[ -n "$node" ] || fail "slurmd -C printed no node line"

cat >"$conf" <<EOF
# Throwaway single-node cluster for the integration tests; written by scripts/slurm/start.sh.
ClusterName=remtest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
# A requeued job may start again only after its credential expired (cred_expire + 1 s).
AuthInfo=cred_expire=10

StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info

# No cgroups here. A job's processes are its batch script's process group, so that a
# child the script left behind (\`sleep 60 & wait\`, then exit on TERM) dies with the job;
# proctrack/linuxproc loses such orphans once they are reparented to init.
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# A node that comes back after a restart takes jobs again without an admin.
ReturnToService=2
JobRequeue=1
# Pending jobs whose begin time has come (a requeued job) are looked at every 2 s, not
# every 30 to 60 s.
SchedulerParameters=sched_interval=2,bf_interval=2
MinJobAge=300
KillWait=30
MailProg=/bin/true

# No database: finished jobs go to a text file that \`sacct -c\` reads.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.txt

$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

# --- daemons ---------------------------------------------------------------------------
# Both daemons fork into the background; their stdio must not hold the caller's pipe
# open, or `$(start.sh DIR)` would never return.
slurmctld -f "$conf" </dev/null >>"$DIR/log/slurmctld.stdio" 2>&1 || fail "slurmctld did not start"
slurmd -f "$conf" </dev/null >>"$DIR/log/slurmd.stdio" 2>&1 || fail "slurmd did not start"

state=""
for _ in $(seq "$wait_s"); do
    state=$(sinfo -h -o %T 2>/dev/null || true)
    [ "$state" = idle ] && break
    sleep 1
done
[ "$state" = idle ] || fail "the node is not idle after ${wait_s} s (state: '${state:-none}')"

echo "SLURM_CONF=$conf"
