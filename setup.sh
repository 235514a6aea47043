#!/usr/bin/env bash
# Install what the pipeline (and, with --tests, its test suite) needs, into the project's own
# virtualenv .venv (no active environment needed; Debian's python3 refuses pip outside one, PEP 668):
#   - Debian's offline copy of Fashion-MNIST (dataset-fashion-mnist), used by the quick config;
#   - this package and every Python dependency at the versions in constraints.txt (torch 2.14.1,
#     torchvision 0.29.1, snakemake 9.27, …), so that a fresh install next month gets the same.
#   --tests   also the test tools (pytest, torchattacks as a reference implementation), Debian's
#             SLURM daemons (slurmctld, slurmd, slurm-client, munge), which the test suite starts as
#             a throw-away single-node cluster to run the workflow through SLURM, and Debian's
#             chromium, in which the test suite opens the `snakemake --report` page.
# Afterwards run everything with .venv/bin/… (or `source .venv/bin/activate` first).
# INVROB_VENV=path chooses another virtualenv.  Idempotent: reruns are quick.
set -euo pipefail
cd "$(dirname "$0")"
VENV=${INVROB_VENV:-.venv}

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
  for cmd in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge chromium:chromium; do
    command -v "${cmd%%:*}" >/dev/null || packages+=("${cmd##*:}")
  done
fi
# Debian's python3 has no venv/ensurepip until python3-venv is installed
python3 -c 'import ensurepip, venv' 2>/dev/null || packages+=(python3-venv)
[ ${#packages[@]} -eq 0 ] || apt_install "${packages[@]}"

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "setup.sh: Python >= 3.10 needed" >&2; exit 1; }
pip_install() { "$PY" -m pip install -q --disable-pip-version-check -c constraints.txt "$@"; }
if [ "$WITH_TESTS" = 1 ]; then
  pip_install -e ".[test]"
  # torchattacks pins requests~=2.25.1 (advisories fixed in 2.31-2.32.4): its real needs (torch,
  # torchvision, numpy, scipy, tqdm, requests) are in already, so it goes in without its pins
  pip_install --no-deps torchattacks
else
  pip_install -e .
fi
echo "setup.sh: done in $VENV ($("$PY" -c 'import torch, snakemake, requests; print("torch", torch.__version__, "| snakemake", snakemake.__version__, "| requests", requests.__version__)'))"
