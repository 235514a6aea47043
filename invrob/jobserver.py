"""Jobs forked from one process that has already imported torch: no per-job start-up.

A fresh Python process per job pays its imports — torch alone is ~2.5 s of CPU, a job's imports ~3.5 s
wall on 2 busy cores — and the quick scale runs ~600 jobs, most of them seconds of work: a quarter
of the run went to starting processes.  So in a local run (``snakemake --cores N``; never under a
cluster executor) the Snakefile's ``onstart`` starts one server that imports the package and torch
once (``PRELOAD``), and each job's entry point (``invrob.jobs``, decorated ``@forkable``), called by
the job's script, asks it through a Unix socket to fork a child that runs the function.  The DAG,
the files, the per-evaluation reruns and the Snakemake job are the same; only the process that
computes is a fork instead of a fresh interpreter.  Nothing reruns for it: the scripts are unchanged
(Snakemake reruns a script's jobs when the script's mtime changes) and the code fingerprints leave
the decorator out.

- The child gets the job's stdin/stdout/stderr (passed as file descriptors), working directory and
  environment, runs ``function(*args, **kwargs)`` and exits; its exit status becomes the job
  script's, so a failing job fails in Snakemake as before (traceback on the job's stderr).
- A SIGINT/SIGTERM to the job's script is passed on to the child; a script that dies (Snakemake
  killed it) has its child killed; the server, its children with it, ends when Snakemake does.
- The server computes nothing itself (no torch op, no CUDA), so each child starts clean: it sets
  its own thread count and picks its own device as a fresh process would.
- Where there is no server (cluster jobs, tests, a shell, ``job_start: fresh``) or it cannot be
  reached, the function runs in the script's own process, as before.

Snakemake's ``benchmark:`` files time the job's script, so their wall seconds (``s``) are the job's;
their CPU and memory columns (``cpu_time``, ``max_rss``) miss the forked child.  The child's own
CPU seconds and peak memory go to the job's stderr.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import functools
import importlib
import os
import pickle
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ENV = "INVROB_JOB_SERVER"  # the socket's path, in the environment of the jobs of a local run
# what the jobs' functions import (invrob.jobs imports lazily): torch, the training and evaluation
# code, matplotlib and the figure kinds; bench/pipeline.py times the same imports in a fresh process
PRELOAD = ("invrob.jobs", "invrob.evaluation.registry", "invrob.training.loop", "invrob.figures.render",
           "invrob.claims.scoreboard")  # fmt: skip
GRACE_S = 10  # a job told to stop (SIGTERM) that is still running after this is killed (SIGKILL)
# the linear-algebra thread pools read these once, when the server loads them; each fork then sets
# torch's threads from its job's OMP_NUM_THREADS (Snakemake sets them all to the job's threads)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")  # fmt: skip
_LENGTH = struct.Struct("!Q")
_INT = struct.Struct("!i")


# --- the job's side ---------------------------------------------------------------------------

_in_child = False  # true in a job forked by the server: its functions run where they are called


def forkable(function):
    """Decorator of the job entry points (``invrob.jobs``): called in a job's script, the function runs
    in a child of the run's job server, or here if there is none.  How a job's process starts is not
    what it computes: code fingerprints leave this decorator out (``invrob.fingerprint``)."""

    @functools.wraps(function)
    def job(*args, **kwargs):
        return _run(job, function, args, kwargs)

    return job


def call(function, *args, **kwargs):
    """``function(*args, **kwargs)`` in a child of the run's job server, or here if there is none."""
    return _run(function, function, args, kwargs)


def _run(remote, local, args, kwargs):
    """``local(*args, **kwargs)`` here, or ``remote`` (the same function, as it pickles: by its name) in
    a child of the server.  Returns what ``local`` returns when it runs here; with a server it returns
    None on success and exits this process with the child's status otherwise."""
    sock = None if _in_child else _connect(os.environ.get(ENV))
    if sock is None:
        return local(*args, **kwargs)
    with sock:
        payload = pickle.dumps((remote, args, kwargs, os.getcwd(), dict(os.environ)))
        try:
            socket.send_fds(sock, [_LENGTH.pack(len(payload))], [0, 1, 2])
            sock.sendall(payload)
            pid = _INT.unpack(_recv_exactly(sock, _INT.size))[0]
        except OSError:  # the server went away before forking: nothing ran, so run it here
            return local(*args, **kwargs)
        forward = lambda signum, frame: _kill(pid, signum)  # noqa: E731
        previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            status = _INT.unpack(_recv_exactly(sock, _INT.size))[0]
        except OSError:  # the job must not run on, writing outputs, after it is reported failed
            print(f"invrob job server: lost while the job ran; stopping its fork (pid {pid}); the job failed",
                  file=sys.stderr)  # fmt: skip
            _stop(pid)
            status = 1
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
    if status != 0:
        sys.exit(128 - status if status < 0 else status)  # killed by signal N: 128 + N, as a shell says
    return None


def _connect(path: str | None) -> socket.socket | None:
    if not path:
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        return None
    return sock


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionResetError("job server closed the connection")
        data += chunk
    return data


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _stop(pid: int, grace: float = GRACE_S) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds, until ``pid`` (not this process's child) is gone."""
    _kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if time.monotonic() > deadline:
            _kill(pid, signal.SIGKILL)
            deadline = float("inf")
        time.sleep(0.05)


# --- the server -------------------------------------------------------------------------------


def serve(socket_path: str, preload=PRELOAD, ready=None) -> None:
    """Import ``preload``, listen on ``socket_path`` and fork one child per request until stdin closes
    (the process that started the server has ended or stopped it)."""
    for module in preload:
        importlib.import_module(module)
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():  # a fork could not use CUDA then
        raise RuntimeError(f"importing {preload} initialised CUDA: the job server must not")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the children (same process group)
    server_pid = os.getpid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)
    children: dict[socket.socket, list] = {}  # the job script's connection → [child pid, when told to stop]
    if ready is not None:
        ready()
    try:
        while True:
            for key, _ in selector.select(timeout=0.05 if children else None):
                if key.fileobj is listener:
                    conn, _ = listener.accept()
                    pid = _fork_job(conn, selector)
                    if pid is None:
                        conn.close()  # the script sees no pid and runs the job itself
                    else:
                        children[conn] = [pid, None]
                        selector.register(conn, selectors.EVENT_READ)
                elif key.fileobj is sys.stdin:
                    if not os.read(sys.stdin.fileno(), 1024):
                        return
                else:  # the job's script closed its end (it died): its child must not run on
                    selector.unregister(key.fileobj)
                    child = children[key.fileobj]
                    child[1] = time.monotonic()
                    _kill(child[0], signal.SIGTERM)
            for conn, (pid, stopped) in list(children.items()):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    if stopped is None:
                        selector.unregister(conn)
                    del children[conn]
                    with contextlib.suppress(OSError):
                        conn.sendall(_INT.pack(os.waitstatus_to_exitcode(status)))
                    conn.close()
                elif stopped is not None and time.monotonic() - stopped > GRACE_S:
                    _kill(pid, signal.SIGKILL)
    finally:
        if os.getpid() != server_pid:  # an exception escaped a child's job code: never run the server's exit
            os._exit(1)
        for pid, _ in children.values():
            _kill(pid, signal.SIGTERM)
        listener.close()


def _fork_job(conn: socket.socket, selector: selectors.BaseSelector) -> int | None:
    """Read one request and fork its child; None when the request is unreadable or the fork fails
    (nothing ran)."""
    conn.settimeout(5)
    fds = []
    try:
        header, fds, _, _ = socket.recv_fds(conn, _LENGTH.size, 3)
        if len(header) != _LENGTH.size or len(fds) != 3:
            raise ConnectionError("not a job request")
        payload = _recv_exactly(conn, _LENGTH.unpack(header)[0])
        conn.settimeout(None)
        pid = os.fork()
    except OSError:
        for fd in fds:
            os.close(fd)
        return None
    if pid == 0:
        _be_the_job(conn, selector, fds, payload)  # never returns
    for fd in fds:
        os.close(fd)
    try:
        conn.sendall(_INT.pack(pid))
    except OSError:
        _kill(pid, signal.SIGTERM)
    return pid


def _be_the_job(conn: socket.socket, selector: selectors.BaseSelector, fds: list[int], payload: bytes) -> None:
    """The forked child: take the job's streams, folder and environment, run its function, exit with
    its status.  Nothing escapes into the server's code: every path ends in ``os._exit``."""
    status = 1
    try:
        try:
            for key in list(selector.get_map().values()):  # the server's sockets and selector are not the job's
                if isinstance(key.fileobj, socket.socket):
                    key.fileobj.close()
            selector.close()
            conn.close()
            signal.signal(signal.SIGINT, signal.default_int_handler)
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            sys.stdout.reconfigure(line_buffering=os.isatty(1))  # as a fresh process: line-buffered on a tty
            global _in_child
            _in_child = True
            function, args, kwargs, cwd, environ = pickle.loads(payload)
            os.chdir(cwd)
            os.environ.clear()
            os.environ.update(environ)
            torch = sys.modules.get("torch")
            if torch is not None and environ.get("OMP_NUM_THREADS", "").isdigit():
                torch.set_num_threads(max(1, int(environ["OMP_NUM_THREADS"])))  # as a fresh process would start
            function(*args, **kwargs)
            status = 0
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                status = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
        except KeyboardInterrupt:
            status = 130
        except BaseException:
            traceback.print_exc()
        with contextlib.suppress(BaseException):
            _report_usage()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
    finally:
        os._exit(status)


def _report_usage() -> None:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"job (forked by the invrob job server, pid {os.getpid()}): {usage.ru_utime + usage.ru_stime:.1f} s CPU, "
          f"peak resident memory {usage.ru_maxrss / 1024:.0f} MB (the server's imports included)",
          file=sys.stderr)  # fmt: skip


# --- starting and stopping it (the Snakefile's onstart / onsuccess / onerror) -----------------


class JobServer:
    """A running server: its process and socket; ``stop()`` ends it (also when this process ends)."""

    def __init__(self, process: subprocess.Popen, socket_path: str):
        self.process, self.socket_path = process, socket_path

    def stop(self) -> None:
        self.process.stdin.close()
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        if os.environ.get(ENV) == self.socket_path:
            del os.environ[ENV]
        Path(self.socket_path).unlink(missing_ok=True)
        with contextlib.suppress(FileNotFoundError):
            Path(self.socket_path).parent.rmdir()
        if self in _started:
            _started.remove(self)


_started: list[JobServer] = []


def stop_started() -> None:
    """Stop the servers ``start`` started in this process (the Snakefile's onsuccess and onerror)."""
    while _started:
        _started[-1].stop()


def start(basedir: str | Path, timeout: float = 120) -> JobServer | None:
    """Start a server that imports the package of the workflow in ``basedir`` and put its socket in
    this process's environment (the jobs it starts inherit it).  None, with a warning, if it does not
    come up: the jobs then start their own processes."""
    socket_path = os.path.join(tempfile.mkdtemp(prefix="invrob-jobs-"), "socket")  # short: paths ≤ 107 bytes
    # sys.path[0] is the workflow's folder (not '', the current folder, as `python -c` would have it)
    code = f"import sys; sys.path[0] = {str(basedir)!r}; from invrob.jobserver import main; main()"
    env = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, "1")}
    process = subprocess.Popen([sys.executable, "-c", code, socket_path], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    server = JobServer(process, socket_path)
    line = _readline(process, timeout)
    if line.strip() != "ready":
        print(f"invrob job server did not start ({line.strip() or 'no answer'}): each job starts its own process",
              file=sys.stderr)  # fmt: skip
        process.kill()
        process.wait()
        server.stop()
        return None
    os.environ[ENV] = socket_path
    if not _started:
        atexit.register(stop_started)
    _started.append(server)
    return server


def _readline(process: subprocess.Popen, timeout: float) -> str:
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    return process.stdout.readline() if selector.select(timeout) else ""


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("socket")
    args = parser.parse_args(argv)

    started = False

    def ready():
        nonlocal started
        print("ready", flush=True)
        with open(os.devnull, "w") as devnull:  # the starter reads one line and no more; the children
            os.dup2(devnull.fileno(), sys.stdout.fileno())  # point fd 1 at their job's own stdout
        started = True

    try:
        serve(args.socket, ready=ready)
    except Exception as exc:
        if not started:  # the starter's one line says why
            print(f"{type(exc).__name__}: {exc}", flush=True)
        raise


if __name__ == "__main__":
    main()
