"""The shell commands that error messages suggest, written so that pasting one works.

The Snakefile records how the current run was started (working directory, Snakefile, config
files) in the environment (``record_invocation``); the jobs it starts inherit it, so a message
written inside a job names the same options.  Without a record (a job run from a test or a
shell) the command is the plain one, run in the working directory.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

ENV = "INVROB_SNAKEMAKE_INVOCATION"


def record_invocation(configfiles, workdir: str | Path, snakefile: str | Path, config_args=()) -> None:
    """Remember what a rerun needs: ``cd`` to the working directory when snakemake was started
    elsewhere (the shell's ``PWD``), the Snakefile when it is not in the working directory, the
    ``--configfile`` overlays and the ``--config`` values (``key=value`` words)."""
    workdir, snakefile = Path(workdir).resolve(), Path(snakefile).resolve()
    started_in = os.environ.get("PWD")
    cd = started_in is not None and Path(started_in).resolve() != workdir
    options = ["--snakefile", str(snakefile)] if snakefile.parent != workdir else []
    files = [_relative(Path(f).resolve(), workdir) for f in configfiles or []]
    if files:
        options += ["--configfile", *files]
    if config_args:
        options += ["--config", *config_args]
    os.environ[ENV] = json.dumps({"cd": str(workdir) if cd else None, "options": options})


def _relative(path: Path, start: Path) -> str:
    try:
        return str(path.relative_to(start))
    except ValueError:
        return str(path)


def snakemake_command(*targets: str, remove: str | None = None, cores: int = 1) -> str:
    """``[cd DIR &&] [rm REMOVE &&] snakemake --cores N [options] -- TARGET…`` (paths relative to the
    working directory, as in the rest of the messages)."""
    record = json.loads(os.environ.get(ENV) or '{"cd": null, "options": []}')
    steps = [f"cd {shlex.quote(record['cd'])}"] if record["cd"] else []
    if remove:
        steps.append(f"rm {'-r ' if Path(remove).is_dir() else ''}{shlex.quote(remove)}")
    steps.append(shlex.join(["snakemake", "--cores", str(cores), *record["options"], "--", *targets]))
    return " && ".join(steps)
