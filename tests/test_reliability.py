"""What the workflow promises when something goes wrong: run `python -m pytest tests/test_reliability.py -v`.

- A bad config is refused before any job runs, with a message of at most 10 lines that names the key.
- A corrupt, truncated or swapped input stops the run before Snakemake deletes anything made from it.
- A file that holds code instead of tensors is refused unread: no code from it runs.
- A killed run resumes: the same weights as an uninterrupted one, every training snapshot kept.
- A run at another scale in a used folder is refused; preparing the data again retrains nothing;
  where a job runs (the `device` preference) reruns nothing.
- The commands that error messages suggest work when pasted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
import yaml

from conftest import NO_SLURM_BIN, job_counts, needs_fashion_mnist, snakemake, tiny_hparams
from invrob.commands import ENV as INVOCATION
from invrob.data.sources import DatasetError
from invrob.data.splits import load_split
from invrob.evaluation.registry import load_model
from invrob.guards import concurrent_run_note
from invrob.io import CheckpointError, atomic_torch_save, atomic_write_json, checkpoint_header, load_checkpoint
from invrob.paths import copy_workflow
from invrob.training.loop import train

TINY = ("--configfile", "config/tiny.yaml")
FIG1 = "figures/fig1.pdf"  # StdCNN rot0 + rot180: 2 trainings, 6 evaluations on the tiny config
ROT0 = "results/fashion_mnist/stdcnn/rot0/seed0"
ROT180 = "results/fashion_mnist/stdcnn/rot180/seed0"


def error_lines(proc) -> list[str]:
    """The lines of a failed run after Snakemake's banner (what the user reads about the error)."""
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if re.search(r"Error|Exception", line))
    return lines[start:]


def suggested_command(text: str) -> str:
    """The command an error message puts between backticks (the last one)."""
    return re.findall(r"`([^`]*snakemake [^`]*)`", text)[-1]


def paste(command: str, workdir: Path, *options: str) -> subprocess.CompletedProcess:
    """Run a suggested command in a shell in ``workdir``, as a user pasting it would (with ``options``
    added to its snakemake call, e.g. -n)."""
    env = {**os.environ, "PATH": f"{NO_SLURM_BIN}:{Path(os.sys.executable).parent}:{os.environ['PATH']}"}
    env.pop(INVOCATION, None)
    command = re.sub(r"\bsnakemake (?=--)", "snakemake " + "".join(f"{o} " for o in options), command, count=1)
    proc = subprocess.run(["bash", "-c", command], cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc


def inventory(workdir: Path) -> dict[str, int]:
    """Every result file (results/, figures/) with its mtime: what a failed run must leave as it was."""
    return {str(p.relative_to(workdir)): p.stat().st_mtime_ns for d in ("results", "figures")
            for p in sorted((workdir / d).rglob("*")) if p.is_file()}  # fmt: skip


# --------------------------------------------------------------------------- 1. bad configs

# (config overlay or --config words or targets, what the message must say); all on the tiny config
BAD_CONFIGS = [
    (["--config", "foo=1"], "top level: Additional properties are not allowed ('foo' was unexpected)"),
    (["--config", "allow_downlaod=False"], "Additional properties are not allowed ('allow_downlaod'"),
    (["--config", "device=tpu"], "device: 'tpu' is not one of ['auto', 'cpu', 'cuda']"),
    (["--config", "seeds=[0,1]"], "seeds[0]: '0' is not of type 'integer' (a list or nested value given with "
                                  "--config arrives as text: put it in a YAML file"),
    ({"training": {"stdcnn": {"epoch": 2}}}, "training.stdcnn: Additional properties are not allowed ('epoch'"),
    ({"training": {"stdcnn": {"epochs": "ten"}}}, "training.stdcnn.epochs: 'ten' is not of type 'integer'"),
    ({"training": {"stdcnn": {"epochs": 2.0}}}, "training.stdcnn.epochs: 2.0 is not of type 'integer' (write it "
                                                "without a decimal point: 2)"),
    ({"training": {"stdcnn": {"batch_size": 32.0}}}, "training.stdcnn.batch_size: 32.0 is not of type 'integer'"),
    ({"datasets": {"fashion_mnist": {"test_subset": 64.0}}}, "datasets.fashion_mnist.test_subset: 64.0 is not"),
    ({"datasets": {"fashion_mnist": {"test_subset": 0}}}, "datasets.fashion_mnist.test_subset: 0 is less than"),
    ({"datasets": {"fashion_mnist": {"train_subset": 10000000}}},
     "datasets.fashion_mnist.train_subset: 10000000 is more than the 60000 images of the Fashion-MNIST training"),
    ({"datasets": {"fashion_mnist": {"adversarial_epsilons": [-0.1, 0.3]}}},
     "datasets.fashion_mnist.adversarial_epsilons[0]: -0.1 is not an ℓ∞ radius in [0, 1] (pixel units"),
    ({"datasets": {"fashion_mnist": {"adversarial_epsilons": [0, 1.5]}}},
     "datasets.fashion_mnist.adversarial_epsilons[1]: 1.5 is not an ℓ∞ radius"),
    ({"datasets": {"fashion_mnist": {"adversarial_epsilons": [0, "300/255"]}}},
     "datasets.fashion_mnist.adversarial_epsilons[1]: 300/255 = 1.176 is not an ℓ∞ radius in [0, 1]"),
    ({"evaluation": {"epsilons": [0.0, 0.1, 0.05]}},
     "evaluation.epsilons[2]: 0.05 (= 0.05) does not come after 0.1 (= 0.1); list the grid in increasing order"),
    ({"figures": {"fig1": {"epsilon_space": "z"}}}, "figures.fig1.epsilon_space: 'z' is not one of ['pixel', 'normalized']"),
    ({"evaluation": {"epsilons": [0.0, -0.1]}}, "evaluation.epsilons[1]: -0.1 is less than the minimum of 0"),
    ({"evaluation": {"robustnes_test_subset": 5}}, "evaluation: Additional properties are not allowed"),
    ({"training": {"stdcnn": {"lr_milestones": [500]}}},
     "training.stdcnn.lr_milestones: [500] not before the last epoch (1) of recipe"),
    ({"snapshots": {"epochs": [50]}}, "snapshots.epochs: [50] come after the last epoch"),
    ({"sweeps": {"rotation": [270]}}, "sweeps.rotation[0]: 270 is greater than the maximum of 180"),
    ({"resources": {"train": {"threads": 0}}}, "resources.train.threads: 0 is less than the minimum of 1"),
    ({"figures": {"fig1": {"dataset": "imagenet"}}}, "figures.fig1.dataset: 'imagenet' is not one of"),
    ({"figures": {"fig1": {"arch": "resnet50"}}}, "figures.fig1: unknown architecture 'resnet50'; known: ['gcnn',"),
    ({"figures": {"figX": {"kind": "histogram"}}}, "figures.figX: unknown kind 'histogram'; known: ['adversarial_tradeoff',"),
    ({"tables": {"spatial_attacks_mnist": {"columns": [{"label": "x", "arch": "stdcnn", "recipe": "rot0-flip"}]}}},
     "tables.spatial_attacks_mnist: unknown training recipe 'rot0-flip' (token 'flip')"),
    ({"trainig": {}}, "top level: Additional properties are not allowed ('trainig'"),
    (["figures/fig99.pdf"], "'figures/fig99.pdf' is not a target of this workflow"),
    (["tables/table1.pdf"], "tables/NAME.md|csv|tex|html, NAME one of: aa_cusp_table1, aa_fig1_gap, aa_fig3_gap, aa_fig5_gap, aa_fig12_gap,"),
    (["figures/fig1.svg"], "figures/NAME.pdf|png|csv, NAME one of: aa_fig1, aa_fig3, aa_fig5, aa_fig12, aa_fig13, aa_p003_fig3, fig1,"),
]


@pytest.fixture(scope="module")
def bad_config_runs(tmp_path_factory):
    """Each bad config run for real (not a dry run) in a workflow copy of its own, two at a time."""

    def run(index):
        case, _ = BAD_CONFIGS[index]
        wf = copy_workflow(tmp_path_factory.mktemp(f"bad{index}"))
        if isinstance(case, dict):
            (wf / "bad.yaml").write_text(yaml.safe_dump(case))
            args = [*TINY, "bad.yaml", "--", "all"]
        elif case[0] == "--config":
            args = [*TINY, *case, "--", "all"]
        else:
            args = [*TINY, "--", *case]
        proc = snakemake(wf, "--cores", "1", *args, check=False)
        made = [d for d in ("data", "results", "logs", "figures", "tables") if (wf / d).exists()]
        return proc, made

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(run, range(len(BAD_CONFIGS))))


@pytest.mark.parametrize("index", range(len(BAD_CONFIGS)), ids=lambda i: str(BAD_CONFIGS[i][1])[:40])
def test_a_bad_config_is_refused_before_any_job_naming_the_key(bad_config_runs, index):
    proc, made = bad_config_runs[index]
    assert proc.returncode != 0
    assert made == [], f"a job ran: it made {made}"
    lines = error_lines(proc)
    assert len(lines) <= 10, "\n".join(lines)
    assert BAD_CONFIGS[index][1] in "\n".join(lines)


def test_booleans_on_the_command_line_read_as_in_yaml_and_the_missing_dataset_says_where(workflow_copy):
    proc = snakemake(workflow_copy, "--cores", "1", "--config", "allow_download=false", "data_root=my/raw", "--",
                     "data/mnist/train.pt", check=False)  # fmt: skip
    assert proc.returncode != 0
    log = (workflow_copy / "logs" / "prepare_dataset" / "mnist.log").read_text()
    assert "Downloading is disabled (allow_download: false)" in log  # `false` was read as False, not rejected
    assert "put torchvision's MNIST files in my/raw/MNIST/raw/" in log and "{data_root}" not in log


# --------------------------------------------------------------------------- 2. broken inputs, finished results


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A tiny run of fig1 (2 trainings, 6 evaluations), finished; tests work on copies of it."""
    wf = copy_workflow(tmp_path_factory.mktemp("finished"))
    snakemake(wf, "--cores", "2", *TINY, "--", FIG1)
    return wf


@pytest.fixture
def done(finished, tmp_path):
    """A private copy of the finished run (mtimes and Snakemake's metadata kept)."""
    return Path(shutil.copytree(finished, tmp_path / "done", symlinks=True))


@needs_fashion_mnist
@pytest.mark.workflow
def test_a_truncated_split_stops_the_run_before_anything_is_deleted(done):
    before = inventory(done)
    os.truncate(done / "data/fashion_mnist/test.pt", 100_000)
    proc = snakemake(done, "--cores", "1", *TINY, "--", FIG1, check=False)
    assert proc.returncode != 0
    text = "\n".join(error_lines(proc))
    assert "data/fashion_mnist/test.pt: it is not a complete PyTorch file" in text and "Nothing was run or deleted" in text
    assert inventory(done) == before
    # the advice, pasted, prepares the split again, and that retrains and re-evaluates nothing
    paste(suggested_command(text), done)
    assert "Nothing to be done" in snakemake(done, "-n", "--cores", "1", *TINY, "--", FIG1).stdout
    assert inventory(done) == before


@needs_fashion_mnist
@pytest.mark.workflow
def test_a_truncated_checkpoint_stops_the_run_and_the_advice_retrains_it(done):
    original = load_checkpoint(done / ROT180 / "model.pt")["state_dict"]
    before = inventory(done)
    os.truncate(done / ROT180 / "model.pt", 5000)
    # whatever the targets: `all` too, where the existing figure would otherwise hide what is below it
    dry_all = snakemake(done, "-n", "--cores", "1", *TINY, "--", "all", check=False)
    assert dry_all.returncode != 0 and "it is not a complete PyTorch file" in dry_all.stdout + dry_all.stderr
    proc = snakemake(done, "--cores", "1", *TINY, "--", FIG1, check=False)
    assert proc.returncode != 0
    text = "\n".join(error_lines(proc))
    assert f"{ROT180}/model.pt: it is not a complete PyTorch file" in text
    assert "Nothing was run or deleted: the results made from it are kept" in text
    assert {k: v for k, v in inventory(done).items() if "rot180/seed0/model.pt" not in k} == \
        {k: v for k, v in before.items() if "rot180/seed0/model.pt" not in k}  # fmt: skip
    paste(suggested_command(text), done)
    retrained = load_checkpoint(done / ROT180 / "model.pt")["state_dict"]
    assert all(torch.equal(original[k], retrained[k]) for k in original)  # CPU, one thread: bit-identical
    # the figure target now re-evaluates the retrained model (3 evaluations) and redraws, nothing else
    out = snakemake(done, "-n", "--cores", "1", *TINY, "--", FIG1).stdout
    assert job_counts(out) == {"evaluate": 3, "figure": 1}


@needs_fashion_mnist
@pytest.mark.workflow
def test_a_checkpoint_copied_over_another_is_refused_before_and_inside_the_job(done):
    before = inventory(done)
    shutil.copy(done / ROT180 / "model.pt", done / ROT0 / "model.pt")
    proc = snakemake(done, "--cores", "1", *TINY, "--", FIG1, check=False)
    assert proc.returncode != 0
    assert "is not the model its path names: it holds recipe 'rot180' (its path says 'rot0')" in proc.stderr
    assert {k: v for k, v in inventory(done).items() if "rot0/seed0/model.pt" not in k} == \
        {k: v for k, v in before.items() if "rot0/seed0/model.pt" not in k}  # fmt: skip
    # inside a job too (a job started some other way: a cluster, a shell)
    with pytest.raises(CheckpointError, match="is not the model its path names: it holds recipe 'rot180'"):
        load_model(done / ROT0 / "model.pt", "cpu", expected={"dataset": "fashion_mnist", "arch": "stdcnn",
                                                               "recipe": "rot0", "seed": "0"})  # fmt: skip


@needs_fashion_mnist
@pytest.mark.workflow
def test_preparing_the_data_again_and_the_device_preference_rerun_nothing(done):
    before = inventory(done)
    snakemake(done, "--cores", "1", *TINY, "--forcerun", "prepare_dataset", "--", "data/fashion_mnist/train.pt")
    for extra in ([], ["--config", "device=cpu"]):
        assert "Nothing to be done" in snakemake(done, "-n", "--cores", "1", *TINY, *extra, "--", FIG1).stdout
    # prepared again within a run that builds on it: refused (Snakemake would not check what reads it)
    proc = snakemake(done, "--cores", "1", *TINY, "--forcerun", "prepare_dataset", "--", FIG1, check=False)
    assert proc.returncode != 0 and "would be prepared again within this run (Forced execution)" in proc.stderr
    assert inventory(done) == before
    # the data deleted, then one evaluation asked for: preparing the data within the run would retrain its model
    shutil.rmtree(done / "data")
    (done / ROT0 / "eval/clean.json").unlink()
    proc = snakemake(done, "--cores", "1", *TINY, "--", f"{ROT0}/eval/clean.json", check=False)
    assert proc.returncode != 0
    assert re.search(r"data/fashion_mnist is missing, and preparing it within this run would rerun \d+ finished "
                     r"jobs that read it", proc.stderr)  # fmt: skip
    assert inventory(done) == {k: v for k, v in before.items() if "rot0/seed0/eval/clean" not in k}
    paste(suggested_command(proc.stderr), done)
    assert job_counts(snakemake(done, "-n", "--cores", "1", *TINY, "--", f"{ROT0}/eval/clean.json").stdout) == \
        {"evaluate": 1}  # fmt: skip


@needs_fashion_mnist
@pytest.mark.workflow
def test_a_run_at_another_scale_is_refused_and_its_own_folder_works(done):
    before = inventory(done)
    assert json.loads((done / "results/scale.json").read_text()) == {"scale": "tiny"}
    proc = snakemake(done, "--cores", "1", "--configfile", "config/quick.yaml", "--", FIG1, check=False)
    assert proc.returncode != 0
    lines = error_lines(proc)
    assert len(lines) <= 10 and "holds results made at scale 'tiny' (results/scale.json)" in "\n".join(lines)
    command = next(line.strip() for line in lines if line.strip().startswith("snakemake --directory runs/quick"))
    out = paste(command, done, "-n")  # pasted (as a dry run: the quick scale takes minutes)
    assert "train" in job_counts(out.stdout)
    assert inventory(done) == before


def test_malicious_pickles_are_refused_unread(tmp_path):
    marker = tmp_path / "PWNED"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "arch": "stdcnn", "payload": Payload()}, evil)
    with pytest.raises(CheckpointError, match="refused unread") as info:
        load_checkpoint(evil)
    assert "weights_only set to False" not in str(info.value)  # torch's advice to turn the protection off
    assert checkpoint_header(evil)["arch"] == "stdcnn"  # the check before a run reads the plain values only
    (tmp_path / "data").mkdir()
    shutil.copy(evil, tmp_path / "data" / "test.pt")
    with pytest.raises(DatasetError, match="test.pt"):
        load_split(tmp_path / "data", "fashion_mnist", "test")
    # as the training state of a killed run: ignored, training starts afresh
    messages = []
    data = tmp_path / "mnist"
    data.mkdir()
    images = torch.zeros(64, 1, 28, 28, dtype=torch.uint8)
    for split in ("train", "test"):
        torch.save({"images": images, "labels": torch.arange(64) % 10}, data / f"{split}.pt")
    shutil.copy(evil, tmp_path / "state.pt")
    train(tiny_hparams(epochs=1), data, tmp_path / "model.pt", tmp_path / "state.pt", seed=0, log=messages.append)
    assert any("ignoring unreadable training state" in m for m in messages)
    assert not marker.exists()


# --------------------------------------------------------------------------- 3. kill -9 and resume


@needs_fashion_mnist
@pytest.mark.workflow
def test_a_killed_snapshot_run_resumes_with_every_snapshot_and_the_same_weights(tmp_path):
    """Paper 003's snapshots: killed after epoch 2 of 4, unlocked and rerun as Snakemake asks; the folder
    then holds the snapshots of epochs 1-4, bit-identical to an uninterrupted run's."""
    overlay = {"training": {"stdcnn": {"epochs": 4}}, "snapshots": {"epochs": [1, 2, 3]},
               "datasets": {"fashion_mnist": {"train_subset": 4096}}}  # fmt: skip
    target = "results/fashion_mnist/stdcnn/rot0/seed0/snapshots/models"
    runs = {}
    for name in ("killed", "straight"):
        wf = copy_workflow(tmp_path / name)
        (wf / "long.yaml").write_text(yaml.safe_dump(overlay))
        runs[name] = wf
    args = ["--cores", "1", *TINY, "long.yaml", "--", target]
    log = runs["killed"] / "logs/train_snapshots/fashion_mnist/stdcnn/rot0/seed0.log"
    env = {**os.environ, "PATH": f"{NO_SLURM_BIN}:{os.environ['PATH']}"}
    proc = subprocess.Popen([os.sys.executable, "-m", "snakemake", *args], cwd=runs["killed"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    partial = runs["killed"] / (target + ".partial")
    deadline = time.time() + 300
    while not (partial / "epoch002.pt").exists():
        assert proc.poll() is None and time.time() < deadline, "the run ended before epoch 2"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # snakemake and its job, as a crash or `kill -9` would
    proc.wait()
    assert "epoch 4:" not in log.read_text()
    assert sorted(p.name for p in partial.glob("epoch*.pt"))[:2] == ["epoch001.pt", "epoch002.pt"]
    assert snakemake(runs["killed"], *args, check=False).returncode != 0  # locked: Snakemake says --unlock
    snakemake(runs["killed"], "--unlock", *args)
    snakemake(runs["killed"], "--rerun-incomplete", *args)
    assert "resuming from" in log.read_text()
    snakemake(runs["straight"], *args)
    for epoch in (1, 2, 3, 4):
        a, b = (load_checkpoint(wf / target / f"epoch{epoch:03d}.pt")["state_dict"] for wf in runs.values())
        assert all(torch.equal(a[k], b[k]) for k in a), f"epoch {epoch}"
    assert not partial.exists()
    kept = sorted(p.name for p in (runs["killed"] / target).iterdir() if p.name != ".snakemake_timestamp")
    assert kept == [f"epoch{e:03d}.pt" for e in (1, 2, 3, 4)]  # and no half-written file of the kill


# --------------------------------------------------------------------------- 4. small promises


def test_results_are_written_with_the_umask_s_permissions(tmp_path):
    for umask, mode in ((0o022, 0o644), (0o002, 0o664)):
        old = os.umask(umask)
        try:
            atomic_write_json({"x": 1}, tmp_path / f"{umask:o}.json")
            torch_file = tmp_path / f"{umask:o}.pt"
            atomic_torch_save({"x": torch.zeros(1)}, torch_file)
        finally:
            os.umask(old)
        assert (tmp_path / f"{umask:o}.json").stat().st_mode & 0o777 == mode
        assert torch_file.stat().st_mode & 0o777 == mode


def test_a_full_disk_is_named_and_leaves_the_finished_file(tmp_path, monkeypatch):
    path = tmp_path / "eval.json"
    atomic_write_json({"finished": True}, path)
    real_dump = json.dump

    def full(obj, fh, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(json, "dump", full)
    with pytest.raises(OSError, match=r"no space left on the device while writing .*eval.json .*MB free.*finished "
                                      r"results are kept"):  # fmt: skip
        atomic_write_json({"finished": False}, path)
    monkeypatch.setattr(json, "dump", real_dump)
    assert json.loads(path.read_text()) == {"finished": True}
    assert [p.name for p in tmp_path.iterdir()] == ["eval.json"]  # no half-written temporary left


def test_another_run_in_the_same_folder_is_named_instead_of_rerun_incomplete(tmp_path, monkeypatch):
    other = subprocess.Popen(["bash", "-c", "exec -a snakemake sleep 60"], cwd=tmp_path)
    try:
        monkeypatch.chdir(tmp_path)
        deadline = time.time() + 30
        while (note := concurrent_run_note()) is None and time.time() < deadline:
            time.sleep(0.1)  # until bash has exec'd into the stand-in
        assert note is not None and f"pid {other.pid}" in note and "instead of using --rerun-incomplete" in note
    finally:
        other.kill()
        other.wait()
    assert concurrent_run_note() is None


def test_a_snapshot_folder_with_missing_epochs_is_an_error_not_a_shorter_curve(tmp_path):
    from invrob.jobs import evaluate_snapshots_job

    folder = tmp_path / "snapshots" / "models"
    folder.mkdir(parents=True)
    (folder / "epoch005.pt").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"holds the snapshots of epochs \[5\], not \[1, 5\]: delete the "
                                                r"folder and rerun"):  # fmt: skip
        evaluate_snapshots_job("clean", str(folder), "mnist", str(tmp_path), {}, str(tmp_path / "out.json"), 1, "cpu",
                               epochs=[1, 5])  # fmt: skip
    assert not (tmp_path / "out.json").exists()
