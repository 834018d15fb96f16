#!/bin/bash
# A single-node Slurm on this machine, for trying the array jobs and for the Slurm test: munge + slurmctld + slurmd on
# localhost, as root, state under /var/tmp/stella-slurm. `install` adds Debian's slurm-wlm and munge when missing (apt-get).
#   pipelines/slurm/local-cluster.sh install|start|stop|status
# start exits 0 once `sinfo` shows the node idle, 1 with the daemons' last log lines when it does not come up in 60 s. It never
# touches a Slurm it did not set up: an /etc/slurm/slurm.conf without this script's first line, or daemons already running under
# another configuration, make it stop with an error; stop ends only the daemons whose pid files it wrote.
set -euo pipefail
STATE=/var/tmp/stella-slurm
CONF=/etc/slurm/slurm.conf
MARK="# written by pipelines/slurm/local-cluster.sh"

install() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then return 0; fi
  [ "$(id -u)" = 0 ] || { echo "error: installing slurm-wlm and munge needs root (apt-get)" >&2; exit 1; }
  echo "installing Debian packages: slurm-wlm munge"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

start() {
  [ "$(id -u)" = 0 ] || { echo "error: the local cluster runs its daemons as root" >&2; exit 1; }
  command -v slurmctld >/dev/null || { echo "error: Slurm is not installed: run '$0 install'" >&2; exit 1; }
  if [ -e "$CONF" ] && ! head -n 1 "$CONF" | grep -q "^$MARK"; then
    echo "error: $CONF exists and was not written by $0: this machine has its own Slurm; not touching it" >&2; exit 1; fi
  if [ -e "$CONF" ] && sinfo -h -o %T 2>/dev/null | grep -q idle; then echo "local Slurm already up"; return 0; fi
  if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
    [ -e "$CONF" ] || { echo "error: Slurm daemons run here under another configuration: not touching them" >&2; exit 1; }
  fi
  mkdir -p "$STATE"/ctld "$STATE"/d /run/munge /var/log/munge /var/lib/munge
  [ -s /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; }
  chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  chmod 0400 /etc/munge/munge.key
  pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged --force
  local cpus mem
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 - 1024 ))
  cat > "$CONF" <<CONFEOF
$MARK: one node, this machine
ClusterName=stella-local
SlurmctldHost=localhost
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
MaxArraySize=1001
NodeName=localhost CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONFEOF
  pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld -c
  pgrep -x slurmd >/dev/null || /usr/sbin/slurmd -c
  for _ in $(seq 60); do
    if sinfo -h -o %T 2>/dev/null | grep -q idle; then echo "local Slurm up: $(sinfo -h -o '%P %D %T %c')"; return 0; fi
    sleep 1
  done
  echo "error: the local Slurm did not come up in 60 s" >&2
  tail -n 5 "$STATE"/slurmctld.log "$STATE"/slurmd.log >&2 || true
  exit 1
}

stop() {
  for pid in "$STATE"/slurmd.pid "$STATE"/slurmctld.pid; do
    [ -s "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
  done
  echo "local Slurm stopped"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) sinfo ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
