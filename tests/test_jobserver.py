"""The job server (invrob.jobserver): a job forked from it behaves as the same job in its own process —
same output streams, working directory, environment and exit status — and it never outlives the job
that asked for it, nor the run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from invrob import jobserver

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server():
    started = jobserver.start(REPO)
    assert started is not None and os.environ[jobserver.ENV] == started.socket_path
    yield started
    jobserver.stop_started()


def job(code: str, cwd, server=None, env: dict | None = None, wait=True):
    """A job script that runs ``exec(code)`` through ``jobserver.call``: in a child of ``server``, or in
    its own process without one."""
    script = f"import sys; sys.path.insert(0, {str(REPO)!r}); from invrob.jobserver import call; call(exec, {code!r})"
    env = {**{k: v for k, v in os.environ.items() if k != jobserver.ENV}, **(env or {})}
    if server is not None:
        env[jobserver.ENV] = server.socket_path
    kwargs = dict(cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not wait:
        return subprocess.Popen([sys.executable, "-c", script], **kwargs)
    return subprocess.run([sys.executable, "-c", script], timeout=60, **kwargs)


def test_a_forked_job_has_the_callers_streams_folder_and_environment(server, tmp_path):
    code = ("import os, sys; print('out', os.getpid() != os.getppid()); print('err', file=sys.stderr); "
            "open('here.txt', 'w').write(os.environ['MARK'] + ' ' + str(sys.modules.get('torch') is not None))")
    proc = job(code, tmp_path, server, {"MARK": "m1"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "out True\n"
    assert proc.stderr.startswith("err\n") and "forked by the invrob job server" in proc.stderr
    # torch was imported by the server, not by the job: that is the point
    assert (tmp_path / "here.txt").read_text() == "m1 True"


@pytest.mark.parametrize("code, status", [("raise ValueError('bad input')", 1), ("raise SystemExit(3)", 3),
                                          ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", 128 + 9)])
def test_a_failing_job_fails_with_its_status_and_traceback(server, tmp_path, code, status):
    proc = job(code, tmp_path, server)
    assert proc.returncode == status
    if status == 1:
        assert "ValueError: bad input" in proc.stderr


def test_without_a_server_the_job_runs_in_its_own_process(tmp_path, monkeypatch):
    code = "import os, sys; open('here.txt', 'w').write(str('torch' in sys.modules) + os.environ['MARK'])"
    for socket_path in (None, str(tmp_path / "no-such-socket")):  # none started; one that is gone
        proc = job(code, tmp_path, env={"MARK": "m2", **({jobserver.ENV: socket_path} if socket_path else {})})
        assert proc.returncode == 0 and "forked" not in proc.stderr, proc.stderr
        assert (tmp_path / "here.txt").read_text() == "Falsem2"
    monkeypatch.delenv(jobserver.ENV, raising=False)
    assert jobserver.call(sum, [1, 2, 3]) == 6  # here, the function's own return value


def _wait_for(path: Path, timeout=30):
    deadline = time.time() + timeout
    while not path.exists():
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.05)
    return int(path.read_text())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_a_job_stopped_or_killed_takes_its_child_with_it(server, tmp_path, how):
    code = "import os, time; open('pid.tmp', 'w').write(str(os.getpid())); os.rename('pid.tmp', 'pid'); time.sleep(60)"
    proc = job(code, tmp_path, server, wait=False)
    child = _wait_for(tmp_path / "pid")
    assert child != proc.pid and _alive(child)
    proc.send_signal(getattr(signal, how))  # SIGTERM is passed on; SIGKILL: the server sees the script gone
    proc.wait(timeout=30)
    deadline = time.time() + 30
    while _alive(child):
        assert time.time() < deadline, "the job's child outlived its script"
        time.sleep(0.05)
    if how == "SIGTERM":
        assert proc.returncode == 128 + signal.SIGTERM


def test_stopping_the_server_removes_its_socket_and_ends_it(tmp_path):
    started = jobserver.start(REPO)
    try:
        assert Path(started.socket_path).exists() and started.process.poll() is None
    finally:
        started.stop()
    assert started.process.poll() is not None and not Path(started.socket_path).parent.exists()
    assert os.environ.get(jobserver.ENV) != started.socket_path


def test_a_job_that_breaks_its_own_streams_leaves_the_other_jobs_running(server, tmp_path):
    """Whatever a job does, its fork ends in os._exit: nothing runs the server's code in it (which
    would stop every other job)."""
    (tmp_path / "a").mkdir()
    code = ("import os, time; open('pid.tmp', 'w').write(str(os.getpid())); os.rename('pid.tmp', 'pid'); "
            "time.sleep(3); open('done', 'w').write('1')")
    sibling = job(code, tmp_path / "a", server, wait=False)
    _wait_for(tmp_path / "a" / "pid")
    broken = job("import os; os.close(2); os.close(1); raise ValueError('no streams')", tmp_path, server)
    assert broken.returncode == 1
    assert sibling.wait(timeout=30) == 0 and (tmp_path / "a" / "done").exists()


def test_a_forked_job_gets_its_jobs_thread_count(server, tmp_path):
    code = "import torch; open('threads', 'w').write(str(torch.get_num_threads()))"
    for threads in ("1", "2"):
        assert job(code, tmp_path, server, {"OMP_NUM_THREADS": threads}).returncode == 0
        assert (tmp_path / "threads").read_text() == threads


def test_an_unreadable_request_is_dropped_without_leaking_and_the_server_goes_on(server, tmp_path):
    import socket

    fds = lambda: len(os.listdir(f"/proc/{server.process.pid}/fd"))  # noqa: E731
    before = fds()
    for _ in range(5):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(server.socket_path)
            socket.send_fds(sock, [b"\0\0\0\0\0\0\1\0"], [0, 1, 2])  # a length, then no payload
    deadline = time.time() + 30
    while fds() != before:
        assert time.time() < deadline, f"the server holds {fds() - before} more file descriptors"
        time.sleep(0.1)
    assert job("print('still here')", tmp_path, server).stdout == "still here\n"


def test_a_job_whose_server_dies_fails_and_its_fork_is_stopped(tmp_path):
    own = jobserver.start(REPO)
    try:
        code = ("import os, time; open('pid.tmp', 'w').write(str(os.getpid())); os.rename('pid.tmp', 'pid'); "
                "time.sleep(5); open('late', 'w').write('1')")
        proc = job(code, tmp_path, own, wait=False)
        child = _wait_for(tmp_path / "pid")
        own.process.kill()
        assert proc.wait(timeout=30) == 1 and "lost while the job ran" in proc.stderr.read()
        assert not _alive(child)
        time.sleep(6)
        assert not (tmp_path / "late").exists()  # it did not go on writing after it was reported failed
    finally:
        own.stop()
