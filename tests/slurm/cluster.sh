#!/usr/bin/env bash
# A real single-node SLURM cluster on localhost for the test suite, with NGPU fake GPUs declared
# as GRES (character devices cloned from /dev/null), so that `--gpus=1` is scheduled and sets
# CUDA_VISIBLE_DEVICES exactly as on a GPU cluster.  Needs root and Debian's slurmctld, slurmd,
# slurm-client and munge (`./setup.sh --tests` installs them).
#   cluster.sh start    configure and start munge, slurmctld, slurmd; wait until the node is idle
#   cluster.sh stop     stop the daemons by their PID files
set -euo pipefail
NGPU=${NGPU:-4}
STATE=${SLURM_TEST_STATE:-/tmp/invrob-slurm}

stop() {
  for f in "$STATE/slurmd.pid" "$STATE/slurmctld.pid"; do
    if [ -s "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi
  done
  rm -f "$STATE"/*.pid
}

start() {
  for cmd in slurmctld slurmd munged sinfo; do
    command -v "$cmd" >/dev/null || { echo "cluster.sh: $cmd not installed (./setup.sh --tests)" >&2; exit 3; }
  done
  [ "$(id -u)" -eq 0 ] || { echo "cluster.sh: must run as root" >&2; exit 3; }
  stop
  mkdir -p "$STATE"/{ctld,d,log} /etc/slurm /run/munge

  # munge: authentication between the daemons and the client commands
  [ -s /etc/munge/munge.key ] || { mungekey --create --keyfile=/etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
  chown munge:munge /run/munge && chmod 755 /run/munge
  munge -n >/dev/null 2>&1 || runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done

  mkdir -p "$STATE/gpus"
  for i in $(seq 0 $((NGPU - 1))); do [ -c "$STATE/gpus/nvidia$i" ] || mknod "$STATE/gpus/nvidia$i" c 1 3; done

  local host cpus mem
  host=$(hostname -s)
  # the node declares at least 8 CPUs (config_overrides: slurmd does not check them against the
  # hardware), so that the profile's 2-CPU GPU jobs run 4 at a time as on a real 4-GPU node
  cpus=$(( $(nproc) > 8 ? $(nproc) : 8 ))
  mem=$(( $(free -m | awk '/^Mem:/{print $2}') - 1024 ))
  cat > /etc/slurm/slurm.conf <<CONF
ClusterName=invrobtest
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# without a default, each job takes the node's whole memory and jobs run one at a time
DefMemPerCPU=1000
SchedulerType=sched/backfill
ReturnToService=2
SlurmdParameters=config_overrides
# finished jobs stay visible to squeue (the status command without accounting) for 10 minutes
MinJobAge=600
GresTypes=gpu
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem} Gres=gpu:${NGPU} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF
  cat > /etc/slurm/gres.conf <<CONF
AutoDetect=off
NodeName=${host} Name=gpu File=$STATE/gpus/nvidia[0-$((NGPU - 1))]
CONF
  slurmctld -c
  slurmd
  for _ in $(seq 150); do
    [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && { sinfo; return 0; }
    sleep 0.2
  done
  echo "cluster.sh: node did not become idle; see $STATE/log/" >&2
  sinfo >&2 || true
  exit 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
