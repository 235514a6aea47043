import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from conftest import REPO
from invrob.devices import acquire_slot, select_device

HOLD_SLOT = textwrap.dedent(
    """
    import sys, time
    from invrob.devices import acquire_slot
    slot, fh = acquire_slot(int(sys.argv[1]), sys.argv[2], timeout=float(sys.argv[3]))
    print(slot, flush=True)
    time.sleep(float(sys.argv[4]))
    """
)


def hold(n_slots, lock_dir, timeout=30.0, seconds=30.0):
    return subprocess.Popen([sys.executable, "-c", HOLD_SLOT, str(n_slots), str(lock_dir), str(timeout), str(seconds)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_concurrent_jobs_get_distinct_slots(tmp_path):
    procs = [hold(3, tmp_path) for _ in range(3)]
    try:
        slots = sorted(int(p.stdout.readline()) for p in procs)
        assert slots == [0, 1, 2]
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_a_killed_job_frees_its_slot(tmp_path):
    first = hold(1, tmp_path)
    try:
        assert first.stdout.readline().strip() == "0"
        with pytest.raises(TimeoutError, match="no free GPU slot among 1"):
            acquire_slot(1, tmp_path, timeout=0.3, poll=0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        slot, fh = acquire_slot(1, tmp_path, timeout=5, poll=0.05)
        assert slot == 0
        fh.close()
    finally:
        first.kill()
        first.wait()


def test_a_waiting_job_gets_the_slot_when_it_frees(tmp_path):
    short = hold(1, tmp_path, seconds=0.5)
    assert short.stdout.readline().strip() == "0"
    start = time.monotonic()
    slot, fh = acquire_slot(1, tmp_path, timeout=20, poll=0.05)
    assert slot == 0 and time.monotonic() - start < 20
    fh.close()
    short.wait()


def test_cpu_device_sets_thread_count():
    before = torch.get_num_threads()
    try:
        lease = select_device(threads=1, prefer="cpu")
        assert lease.device.type == "cpu" and torch.get_num_threads() == 1
        assert "1 torch threads" in lease.description
    finally:
        torch.set_num_threads(before)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA path")
def test_asking_for_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(RuntimeError, match="cuda was requested but CUDA is not available"):
        select_device(1, "cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_slurm_job_uses_its_assigned_gpu(monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    lease = select_device(1, "auto")
    assert lease.device == torch.device("cuda:0") and "SLURM job 42" in lease.description


def test_slurm_job_id_is_recorded_on_the_cpu(monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "7")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2")
    before = torch.get_num_threads()
    try:
        lease = select_device(1, "cpu")
    finally:
        torch.set_num_threads(before)
    assert lease.description.endswith("; SLURM job 7, CUDA_VISIBLE_DEVICES=2")


def test_invalid_slot_count():
    with pytest.raises(ValueError):
        acquire_slot(0, "/tmp")


def test_channels_last_keeps_results_and_leaves_group_convolutions_alone():
    from invrob.data.registry import get_spec
    from invrob.devices import apply_performance_options
    from invrob.models import build_model
    from invrob.models.layers import P4ConvP4

    prepare = apply_performance_options(torch.device("cpu"), cudnn_benchmark=True, channels_last=True)
    x = torch.rand(4, 1, 28, 28)
    for arch in ("stdcnn", "gcnn"):
        torch.manual_seed(0)
        reference = build_model(arch, get_spec("mnist")).eval()
        torch.manual_seed(0)
        fast = prepare(build_model(arch, get_spec("mnist")).eval())
        assert torch.allclose(fast(x), reference(x), atol=1e-5)
        for m in fast.modules():
            if isinstance(m, torch.nn.Conv2d):
                assert m.weight.is_contiguous(memory_format=torch.channels_last)
            if isinstance(m, P4ConvP4):
                assert m.weight.dim() == 5 and m.weight.is_contiguous()
    assert apply_performance_options(torch.device("cpu"))(reference) is reference
