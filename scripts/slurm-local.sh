#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the tests and for trying `comixup-bench sweep
# --launcher slurm` on a workstation: munged, mariadbd + slurmdbd (accounting, which `sacct` and
# so submitit need to see a job that died without a result), slurmctld and slurmd, started as
# plain background daemons (no systemd), everything written under one scratch folder.
#
#   scripts/slurm-local.sh start    # then: export SLURM_CONF=$SLURM_LOCAL_DIR/slurm.conf
#   scripts/slurm-local.sh status
#   scripts/slurm-local.sh stop     # stops only the daemons `start` started, by their pid files
#
# Needs root (SlurmUser=root) and the Debian packages slurm-wlm munge slurmdbd mariadb-server.
# SLURM_LOCAL_DIR (default /tmp/slurm-local) is the scratch folder. Each start gives a fresh
# accounting database: job ids restart at 1, and stale ids would report old jobs' states.
set -euo pipefail

dir="${SLURM_LOCAL_DIR:-/tmp/slurm-local}"
conf="$dir/slurm.conf"
db_port="${SLURM_LOCAL_DB_PORT:-3307}"
daemons=(slurmd slurmctld slurmdbd mariadbd munged) # stop order; start is the reverse

pid_of() { # the pid a daemon of ours recorded, if that process still runs
    local file="$dir/run/$1.pid"
    [[ -s "$file" ]] || return 1
    local pid
    pid="$(cat "$file")"
    kill -0 "$pid" 2>/dev/null && echo "$pid"
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds
    local seconds="$1" what="$2"
    shift 2
    for _ in $(seq $((seconds * 10))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "slurm-local: $what did not come up in ${seconds}s; logs in $dir/log" >&2
    return 1
}

write_config() {
    local node
    node="$(slurmd -C | head -n 1)" # NodeName=<hostname -s> CPUs=... RealMemory=... (measured)
    cat >"$conf" <<EOF
ClusterName=local
SlurmctldHost=$(hostname -s)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Short timers: a test's cancelled or requeued job is seen at once, and a cancelled job's
# processes are killed within about two seconds of SIGTERM (submitit ignores SIGTERM; a cluster's default
# KillWait of 30 s would let a short test run finish first).
MinJobAge=60
KillWait=0
SchedulerParameters=sched_interval=1
$node State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
    cat >"$dir/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
PidFile=$dir/run/slurmdbd.pid
LogFile=$dir/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$db_port
StorageUser=root
StorageLoc=slurm_acct_db_local
EOF
    chmod 600 "$dir/slurmdbd.conf"
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0 # a munged already answers on the default socket: use it
    fi
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    if [[ ! -s /etc/munge/munge.key ]]; then
        mkdir -p /etc/munge
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
        chmod 400 /etc/munge/munge.key
    fi
    munged --force --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log"
    wait_for 10 munged bash -c 'munge -n | unmunge'
}

start_database() {
    # A fresh data folder each start: the accounting database starts empty.
    rm -rf "$dir/mysql"
    mariadb-install-db --no-defaults --user=root --datadir="$dir/mysql" \
        --auth-root-authentication-method=normal --skip-test-db >"$dir/log/mariadb-install.log" 2>&1
    # Grants are skipped: the server listens on 127.0.0.1 only and holds nothing but this
    # throwaway accounting database.
    mariadbd --no-defaults --user=root --datadir="$dir/mysql" --skip-grant-tables \
        --bind-address=127.0.0.1 --port="$db_port" --socket="$dir/run/mysqld.sock" \
        --pid-file="$dir/run/mariadbd.pid" --log-error="$dir/log/mariadbd.log" &
    wait_for 30 mariadbd mariadb --no-defaults --socket="$dir/run/mysqld.sock" -e "select 1"
}

start() {
    for name in "${daemons[@]}"; do
        if pid_of "$name" >/dev/null; then
            echo "slurm-local: already running ($name); stop it first" >&2
            exit 1
        fi
    done
    rm -rf "$dir/state" "$dir/spool" "$dir/run" "$dir/log"
    mkdir -p "$dir/state" "$dir/spool" "$dir/run" "$dir/log"
    write_config
    start_munge
    start_database
    # slurmdbd reads slurmdbd.conf from the folder of SLURM_CONF.
    SLURM_CONF="$conf" slurmdbd
    wait_for 30 slurmdbd bash -c "SLURM_CONF='$conf' sacctmgr -n list cluster"
    slurmctld -f "$conf" -c -i
    slurmd -f "$conf"
    wait_for 30 "the node" bash -c "SLURM_CONF='$conf' sinfo -h -o %T | grep -q idle"
    echo "slurm-local: up; export SLURM_CONF=$conf"
}

stop() {
    for name in "${daemons[@]}"; do
        local pid
        if pid="$(pid_of "$name")"; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$dir/run/$name.pid"
    done
    echo "slurm-local: stopped"
}

status() {
    local down=0
    for name in "${daemons[@]}"; do
        if pid="$(pid_of "$name")"; then
            echo "$name: running (pid $pid)"
        elif [[ "$name" == munged ]] && munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
            echo "$name: not ours, but a munged answers"
        else
            echo "$name: stopped"
            down=1
        fi
    done
    [[ $down == 0 ]] && SLURM_CONF="$conf" sinfo
    return $down
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*)
    echo "usage: $0 start|stop|status  (scratch folder: \$SLURM_LOCAL_DIR, default $dir)" >&2
    exit 2
    ;;
esac
