#!/usr/bin/env bash
# Tears down the cluster that scripts/slurm/start.sh brought up in DIR: slurmctld and
# slurmd by their pid files under DIR, then the processes of jobs still running, and
# munged only if start.sh started it. Leaves DIR (configuration and logs) in place.
#
#   scripts/slurm/stop.sh DIR
#
# Idempotent: a cluster already stopped, or never started, is not an error.
set -uo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
[ -d "$1" ] || exit 0
DIR=$(cd "$1" && pwd)
export PATH="$PATH:/usr/sbin:/sbin"
conf="$DIR/slurm.conf"

# alive PID NAME: the process runs and is NAME (a pid file may outlive its process and
# its number be reused).
alive() {
    [ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]
}

# stop FILE:NAME...: TERM to each daemon named in a pid file, up to 10 s for all of them
# to exit, then KILL.
stop() {
    local item pid i
    local -a pids=() names=()
    for item in "$@"; do
        pid=$(cat "${item%:*}" 2>/dev/null)
        if alive "$pid" "${item##*:}"; then
            kill -TERM "$pid" 2>/dev/null
            pids+=("$pid")
            names+=("${item##*:}")
        fi
        rm -f "${item%:*}"
    done
    for _ in $(seq 100); do
        for i in "${!pids[@]}"; do
            alive "${pids[$i]}" "${names[$i]}" || unset "pids[$i]"
        done
        [ ${#pids[@]} = 0 ] && return 0
        sleep 0.1
    done
    for i in "${!pids[@]}"; do
        kill -KILL "${pids[$i]}" 2>/dev/null
    done
    return 0
}

# tree PID: PID and its descendants.
tree() {
    local child
    echo "$1"
    for child in $(pgrep -P "$1"); do tree "$child"; done
}

# leftovers: what is left of this cluster's jobs. Step daemons (slurmstepd) inherit this
# cluster's configuration from our slurmd; their descendants are the jobs' processes; a
# job process that escaped (reparented to init) still has the configuration and a job id
# in its environment.
leftovers() {
    local f pid
    for f in $(grep -lzxF "SLURM_CONF=$conf" /proc/[0-9]*/environ 2>/dev/null); do
        pid=${f#/proc/}
        pid=${pid%/environ}
        [ "$pid" = $$ ] && continue
        if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = slurmstepd ]; then
            tree "$pid"
        elif grep -qz '^SLURM_JOB_ID=' "$f" 2>/dev/null; then
            echo "$pid"
        fi
    done
}

# Both at once, as each takes about 2 s to shut down; jobs go on without them.
stop "$DIR/run/slurmctld.pid:slurmctld" "$DIR/run/slurmd.pid:slurmd"

# Jobs outlive slurmd; cancelling them through Slurm would give a TERM trap the chance
# to requeue them and take KillWait, so their processes are killed here. A second pass
# catches what forked meanwhile.
for _ in 1 2; do
    # shellcheck disable=SC2046
    kill -KILL $(leftovers | sort -u) 2>/dev/null
done

# munged last: the daemons use it until they are gone.
stop "$DIR/run/munged.pid:munged"
exit 0
