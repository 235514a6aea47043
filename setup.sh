#!/usr/bin/env bash
# Install what the pipeline and its tests need into the active Python environment:
#   - Debian's offline copy of Fashion-MNIST (dataset-fashion-mnist), used by the quick config;
#   - this package with its pinned dependencies (torch 2.14.1, torchvision 0.29.1, snakemake 9,
#     advertorch 0.2.3, …) and the test extras.
#   --tests   also Debian's SLURM daemons (slurmctld, slurmd, slurm-client, munge), which the test
#             suite starts as a throw-away single-node cluster to run the workflow through SLURM.
# Activate a virtualenv/conda env first if you want isolation.  Idempotent: reruns are quick.
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO=sudo
apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "setup.sh: apt-get not found; install the Debian packages '$*' by other means" >&2
    return 0
  fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@"
}

WITH_TESTS=0
for arg in "$@"; do
  case "$arg" in
    --tests) WITH_TESTS=1 ;;
    *) echo "usage: $0 [--tests]" >&2; exit 2 ;;
  esac
done

packages=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || packages+=(dataset-fashion-mnist)
if [ "$WITH_TESTS" = 1 ]; then
  for cmd in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge; do
    command -v "${cmd%%:*}" >/dev/null || packages+=("${cmd##*:}")
  done
fi
[ ${#packages[@]} -eq 0 ] || apt_install "${packages[@]}"
python3 -m pip install -q -e ".[test]"
echo "setup.sh: done ($(python3 -c 'import torch, snakemake; print("torch", torch.__version__, "| snakemake", snakemake.__version__)'))"
