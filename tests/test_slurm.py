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
    """profiles/slurm adapted to the test node as its comments tell a site to: status via squeue (no
    accounting), no account; memory scaled to the node (each job's mem_mb ÷ 16).  CPUs, threads and
    runtimes stay the profile's own, so the test sees what a cluster is asked for."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    for resources in [profile["default-resources"], *profile["set-resources"].values()]:
        resources["mem_mb"] = max(500, resources["mem_mb"] // 16)
    profile["slurm-status-command"] = "squeue"
    profile["slurm-init-seconds-before-status-checks"] = 1
    profile["latency-wait"] = 5
    profile["slurm-no-account"] = True
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(profile))
    return directory


def submitted(job_id: str) -> dict:
    """What SLURM was asked for and did with one job (scontrol's fields)."""
    info = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True).stdout
    rule = re.search(r"Comment=rule_([a-z_]+?)(_wildcards_|\s)", info)
    assert rule, info
    fields = dict(re.findall(r"(\w+)=(\S+)", info))
    return {"rule": rule[1], "cpus": int(fields["NumCPUs"]), "minutes": _minutes(fields["TimeLimit"]),
            "gpu": "gres/gpu:1" in info or "gres:gpu:1" in info, "state": fields["JobState"], "info": info}  # fmt: skip


def _minutes(limit: str) -> int:
    days, _, hms = limit.rpartition("-")
    h, m, s = (int(x) for x in hms.split(":"))
    return int(days or 0) * 1440 + h * 60 + m + (s > 0)


def results_of(workdir: Path) -> dict:
    """Every number the tiny pipeline produced: evaluation results and the figures' CSVs."""
    out = {}
    for path in sorted((workdir / "results").rglob("eval/*.json")):
        out[str(path.relative_to(workdir))] = json.loads(path.read_text())["results"]
    for path in sorted((workdir / "figures").glob("*.csv")):
        out[str(path.relative_to(workdir))] = path.read_text()
    return out


# two figures that share their checkpoints: StdCNN's rotation trade-off and its DeepFool distances
TARGETS = ["figures/fig1.pdf", "figures/fig8.pdf"]


def test_tiny_pipeline_through_slurm_matches_a_local_run(slurm_cluster, tmp_path):
    profile = site_profile(tmp_path / "profile")
    on_slurm = copy_workflow(tmp_path / "slurm")
    proc = snakemake(on_slurm, *TARGETS, "--profile", str(profile), "--configfile", "config/tiny.yaml", timeout=1200,
                     slurm=True)
    output = proc.stdout + proc.stderr

    # training and evaluation jobs went through SLURM; the download and the figures are localrules
    slurm_ids = set(re.findall(r"SLURM jobid (\d+)", output))
    assert len(slurm_ids) == 14, output[-3000:]  # 2 trainings + 12 evaluations
    assert (on_slurm / "data" / "fashion_mnist" / "train.pt").exists() and (on_slurm / "figures" / "fig8.pdf").exists()

    # each rule kind was submitted with the profile's CPUs and runtime, and with one GPU
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    jobs = [submitted(job_id) for job_id in slurm_ids]
    assert {job["rule"] for job in jobs} == {"train", "evaluate"}
    for job in jobs:
        wanted = profile["set-resources"][job["rule"]]
        assert (job["cpus"], job["minutes"], job["gpu"], job["state"]) == (
            wanted["cpus_per_task"], wanted["runtime"], True, "COMPLETED"), job["info"]  # fmt: skip
    device_logs = list((on_slurm / "logs" / "train").rglob("*.log")) + list((on_slurm / "logs" / "evaluate").rglob("*.log"))
    assert len(device_logs) == 14
    for log in device_logs:
        assert re.search(r"SLURM job (\d+), CUDA_VISIBLE_DEVICES=\d", log.read_text()), log

    # the same numbers as a local run of the same config, whose jobs were forked from the job server
    # (invrob.jobserver) while the cluster's started fresh
    assert "forked by the invrob job server" not in output
    local = copy_workflow(tmp_path / "local")
    forked = snakemake(local, *TARGETS, "--cores", "2", "--configfile", "config/tiny.yaml")
    forks = (forked.stdout + forked.stderr).count("forked by the invrob job server")
    assert forks == len(slurm_ids) + 3  # and the download and the 2 figures
    assert results_of(on_slurm) == results_of(local)


def test_a_failing_slurm_job_is_reported_as_failed(slurm_cluster, tmp_path):
    profile = site_profile(tmp_path / "profile")
    wf = copy_workflow(tmp_path / "wf")
    # the fake GPUs have no CUDA behind them: a training that insists on CUDA fails inside its SLURM job
    (wf / "cuda.yaml").write_text(yaml.safe_dump({"device": "cuda"}))
    proc = snakemake(wf, "results/fashion_mnist/stdcnn/rot0/seed0/model.pt", "--profile", str(profile), "--retries",
                     "0", "--configfile", "config/tiny.yaml", "cuda.yaml", check=False, timeout=600, slurm=True)  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Error in rule train" in output and "SLURM jobid" in output
    log = (wf / "logs" / "train" / "fashion_mnist" / "stdcnn" / "rot0" / "seed0.log").read_text()
    assert "device: cuda was requested but CUDA is not available" in log
    assert not (wf / "results" / "fashion_mnist" / "stdcnn" / "rot0" / "seed0" / "model.pt").exists()
