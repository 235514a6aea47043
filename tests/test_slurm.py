"""The workflow through a real SLURM cluster (single node on localhost, fake GRES GPUs).

The cluster comes from ``tests/slurm/cluster.sh`` (Debian's slurmctld/slurmd/munge, installed by
``./setup.sh --tests``).  The profile is ``profiles/slurm`` with only what a site adapts changed
for this 2-core test node, exactly as the profile's comments tell a user to do.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import REPO, copy_workflow, needs_fashion_mnist, snakemake

CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
pytestmark = [pytest.mark.slurm, pytest.mark.workflow, needs_fashion_mnist]


def _cannot_run_slurm() -> str | None:
    missing = [c for c in ("slurmctld", "slurmd", "munged", "sbatch", "squeue") if shutil.which(c) is None]
    if missing:
        return f"SLURM is not installed ({', '.join(missing)} missing): run ./setup.sh --tests"
    if os.geteuid() != 0:
        return "starting a local SLURM cluster needs root"
    return None


@pytest.fixture(scope="module")
def slurm_cluster():
    reason = _cannot_run_slurm()
    if reason:
        pytest.skip(reason)
    proc = subprocess.run(["bash", str(CLUSTER), "start"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"cluster did not start:\n{proc.stdout}\n{proc.stderr}"
    yield
    subprocess.run(["bash", str(CLUSTER), "stop"], capture_output=True, timeout=60)


def site_profile(directory: Path) -> Path:
    """profiles/slurm adapted to the test node: 1 CPU and 1 GB per job, status via squeue (no accounting)."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    for resources in profile["set-resources"].values():
        resources.update(cpus_per_task=1, mem_mb=1000)
    profile["default-resources"].update(cpus_per_task=1, mem_mb=1000)
    profile["set-threads"] = {rule: 1 for rule in profile["set-threads"]}
    profile["slurm-status-command"] = "squeue"
    profile["slurm-init-seconds-before-status-checks"] = 1
    profile["latency-wait"] = 5
    profile["slurm-no-account"] = True
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(profile))
    return directory


def results_of(workdir: Path) -> dict:
    """Every number the tiny pipeline produced: evaluation results and the figures' CSVs."""
    out = {}
    for path in sorted((workdir / "results").rglob("*.json")):
        out[str(path.relative_to(workdir))] = json.loads(path.read_text())["results"]
    for path in sorted((workdir / "figures").glob("*.csv")):
        out[str(path.relative_to(workdir))] = path.read_text()
    return out


# two figures that share their checkpoints: StdCNN's rotation trade-off and its DeepFool distances
TARGETS = ["figures/fig1.pdf", "figures/fig8.pdf"]


def test_tiny_pipeline_through_slurm_matches_a_local_run(slurm_cluster, tmp_path):
    profile = site_profile(tmp_path / "profile")
    on_slurm = copy_workflow(tmp_path / "slurm")
    proc = snakemake(on_slurm, *TARGETS, "--profile", str(profile), "--configfile", "config/tiny.yaml", timeout=1200)
    output = proc.stdout + proc.stderr

    # every job was a SLURM job: 1 dataset + 2 trainings + 12 evaluations + 2 figures
    slurm_ids = set(re.findall(r"SLURM jobid (\d+)", output))
    assert len(slurm_ids) == 17, output[-3000:]

    # GPU jobs asked for --gpus=1 and got a GPU; the others did not ask
    for job_id in slurm_ids:
        info = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True).stdout
        rule = re.search(r"Comment=rule_(prepare_dataset|train|evaluate|figure)(_wildcards_|\s)", info)
        gpu = "TresPerJob=gres/gpu:1" in info or "TresPerJob=gres:gpu:1" in info
        assert rule, info
        assert gpu == (rule[1] in ("train", "evaluate")), info
        assert "JobState=COMPLETED" in info, info
    device_logs = list((on_slurm / "logs" / "train").rglob("*.log")) + list((on_slurm / "logs" / "evaluate").rglob("*.log"))
    assert len(device_logs) == 14
    for log in device_logs:
        assert re.search(r"SLURM job (\d+), CUDA_VISIBLE_DEVICES=\d", log.read_text()), log

    # the same numbers as a local run of the same config
    local = copy_workflow(tmp_path / "local")
    snakemake(local, *TARGETS, "--cores", "2", "--configfile", "config/tiny.yaml")
    assert results_of(on_slurm) == results_of(local)


def test_a_failing_slurm_job_is_reported_as_failed(slurm_cluster, tmp_path):
    profile = site_profile(tmp_path / "profile")
    wf = copy_workflow(tmp_path / "wf")
    # MNIST has no local copy here and downloads are off: prepare_dataset fails inside its SLURM job
    (wf / "no-mnist.yaml").write_text(yaml.safe_dump({"data_root": "nowhere", "allow_download": False,
                                                      "stand_ins": {"datasets": {"mnist": "mnist"}}}))  # fmt: skip
    proc = snakemake(wf, "figures/fig1.pdf", "--profile", str(profile), "--retries", "0", "--configfile",
                     "config/tiny.yaml", "no-mnist.yaml", check=False, timeout=600)  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Error in rule prepare_dataset" in output and "SLURM jobid" in output
    assert "dataset 'mnist' not found" in (wf / "logs" / "prepare_dataset" / "mnist.log").read_text()
    assert not (wf / "data" / "mnist" / "train.pt").exists()
