"""Every command the README shows works when pasted: Snakemake commands as dry runs in a copy of
the workflow, Python entry points (scripts and `python -m` modules) with --help, and the two
newcomer commands as CI runs them."""

import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import REPO, snakemake
from invrob.paths import copy_workflow

README = (REPO / "README.md").read_text()


def shown_commands() -> list[str]:
    """Commands in code blocks and inline code, whitespace joined (an inline span may wrap)."""
    blocks = [body for lang, body in re.findall(r"```(\w*)\n(.*?)```", README, re.S) if lang in ("", "bash")]
    text = re.sub(r"```.*?```", "", README, flags=re.S)
    spans = [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", text)]
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    commands = []
    for command in lines + spans:
        for part in command.split(" && "):
            part = part.removeprefix(".venv/bin/")
            if re.match(r"(snakemake|python3?) \S", part) and "…" not in part:
                commands.append(part)
    return list(dict.fromkeys(commands))


COMMANDS = shown_commands()
# the worked example of "Bring your own checkpoint" reads the user's own weights (config/mine.yaml names them):
# tests/test_external.py builds the same targets end to end from weights it trains
USER_FILES = ("config/mine.yaml",)
SNAKEMAKE = [c for c in COMMANDS if c.startswith("snakemake ") and not any(f in c for f in USER_FILES)]
PYTHON = [c for c in COMMANDS if c.startswith("python")]


def test_the_readme_shows_the_commands_users_type():
    assert "snakemake all --cores 2 --configfile config/quick.yaml" in SNAKEMAKE
    assert "snakemake figures/fig1.pdf --cores 4 --resources gpu=4" in SNAKEMAKE
    assert "python -m pytest" in PYTHON and len(SNAKEMAKE) >= 10
    assert README.count("./setup.sh && .venv/bin/snakemake all --cores 2 --configfile config/quick.yaml") == 1


def dry(command: str) -> list[str]:
    args = shlex.split(command)[1:]
    if "--unlock" in args or "--cleanup-metadata" in args or "--report" in args:
        return args
    return ["-n", *args] if "-n" not in args else args


@pytest.fixture(scope="module")
def pasted(tmp_path_factory):
    """Every Snakemake command of the README run once, two at a time (each its own Snakemake process
    in its own copy of the workflow, so runs share no lock), by command."""
    def run(command):
        workdir = copy_workflow(tmp_path_factory.mktemp("readme"))
        return command, snakemake(workdir, *dry(command), check=False, timeout=600)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, SNAKEMAKE))


@pytest.mark.parametrize("command", SNAKEMAKE)
def test_snakemake_command_works_when_pasted(pasted, command):
    proc = pasted[command]
    if "--report" in command and proc.returncode != 0:
        # a report is made after the run: in this fresh folder Snakemake names the first result not built
        missing = re.search(r"File (\S+) marked for report but does not exist", proc.stderr)
        assert missing and missing[1].startswith(("figures/", "tables/")), f"{command}\n{proc.stderr[-2000:]}"
        return
    assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"


@pytest.mark.parametrize("command", PYTHON)
def test_python_command_works_when_pasted(command):
    args = shlex.split(command)
    if args[1:3] == ["-m", "pytest"]:
        return  # this is it
    if args[1] == "-c":
        proc = subprocess.run([sys.executable, *args[1:]], cwd=REPO, capture_output=True, text=True, timeout=300)
    elif args[1] == "-m":  # a module's command line: its --help, and the subcommand's
        command_line = [sys.executable, "-m", args[2], *args[3:4], "--help"]
        proc = subprocess.run(command_line, cwd=REPO, capture_output=True, text=True, timeout=300)
    else:
        assert Path(REPO / args[1]).exists(), command
        proc = subprocess.run([sys.executable, args[1], "--help"], cwd=REPO, capture_output=True, text=True,
                              timeout=300)  # fmt: skip
    assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
