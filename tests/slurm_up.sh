#!/usr/bin/env bash
# Start a single-node Slurm (munge + slurmctld + slurmd) on this machine for tests/test_bridge_slurm.py.
# Idempotent: daemons already running are left alone. Root only (it writes /etc/slurm and starts daemons).
# Prints "started: <daemons>" (the ones this call started, for the caller to stop) and exits 0 once the
# node is idle; exits 77 with a reason when this machine cannot run it (not root, Slurm not installed),
# 1 on a failure to start.
# Recipe: /work/shared/recipes/slurm-single-node.md (Debian slurm-wlm 22.05), plus a short job credential
# lifetime (cred_expire) so that a requeued job may restart after seconds instead of two minutes.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then echo "slurm_up: needs root (starts munged/slurmctld/slurmd)"; exit 77; fi
for bin in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd sinfo scontrol sbatch; do
    command -v "$bin" >/dev/null 2>&1 || { echo "slurm_up: $bin not installed (apt-get install slurm-wlm munge)"; exit 77; }
done

H=$(hostname -s)
CONF=/etc/slurm/slurm.conf
MARK="# written by benign tests/slurm_up.sh"
started=""
changed=0

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
if [ ! -f /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown munge:munge /etc/munge/munge.key /run/munge
chmod 400 /etc/munge/munge.key

if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    su -s /bin/sh munge -c /usr/sbin/munged
    started="$started munged"
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
fi

if [ ! -f "$CONF" ] || grep -qF "$MARK" "$CONF"; then
    # Only our own config is (re)written; a site's slurm.conf is used as it is.
    cat > "$CONF.tmp" <<CONF
$MARK
ClusterName=local
SlurmctldHost=$H
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SchedulerParameters=sched_interval=1
MinJobAge=60
AuthInfo=cred_expire=10
NodeName=$H CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
    if cmp -s "$CONF.tmp" "$CONF"; then rm "$CONF.tmp"; else mv "$CONF.tmp" "$CONF"; changed=1; fi
fi

if ! scontrol ping 2>/dev/null | grep -q "UP"; then
    /usr/sbin/slurmctld
    started="$started slurmctld"
elif [ "$changed" = 1 ]; then
    scontrol reconfigure
fi
if ! pgrep -x slurmd >/dev/null; then
    /usr/sbin/slurmd
    started="$started slurmd"
fi

for _ in $(seq 150); do
    state=$(sinfo -h -n "$H" -o %t 2>/dev/null | head -n1 || true)
    case "$state" in
        idle|mix|alloc) echo "started:$started"; exit 0 ;;
        down*|drain*) scontrol update nodename="$H" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 0.2
done
echo "slurm_up: node $H did not become idle (state '${state:-none}'); see /var/log/slurm/*.log"
echo "started:$started"
exit 1
