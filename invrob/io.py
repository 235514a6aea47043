"""Small file helpers: atomic writes, checkpoint loading with clear errors, and a torch-free look
inside a checkpoint (is it complete, what does it hold) for the checks made before any job runs.

Every file the workflow writes goes through ``_atomic_write``: a temporary name in the same folder,
then a rename, so a killed job or a full disk never leaves half a file, and the result gets the
permissions the user's umask gives a new file (collaborators sharing a results folder can read it).
"""

from __future__ import annotations

import collections
import json
import os
import pickle
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from .units import canonical_recipe


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, truncated or not one of ours."""


def _umask() -> int:
    try:  # Linux says it without changing it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def _atomic_write(path: Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 whatever the umask; a plain open would not
        write(tmp)
        os.replace(tmp, path)  # atomic on POSIX: readers see the old or the new file, never half
    except BaseException as exc:
        full = isinstance(exc, (OSError, RuntimeError)) and _disk_full(exc, path)  # before the space is freed
        Path(tmp).unlink(missing_ok=True)
        if full:
            raise OSError(28, f"no space left on the device while writing {path} ({_free_mb(path)} MB free "
                          f"after removing the half-written copy): free some space and rerun the same "
                          f"command; finished results are kept") from exc  # fmt: skip
        raise


def _free_bytes(path: Path) -> int | None:
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def _free_mb(path: Path) -> str:
    free = _free_bytes(path)
    return "?" if free is None else f"{free / 1e6:.1f}"


def _disk_full(exc: BaseException, path: Path) -> bool:
    """Whether a failed write failed for lack of space (torch says so only as 'unexpected pos …')."""
    if getattr(exc, "errno", None) == 28 or "No space left" in str(exc):
        return True
    if not re.search(r"unexpected pos|iostream error|write", str(exc)):  # torch's words for a failed write
        return False
    free = _free_bytes(path)
    return free is not None and free < 16 << 20


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary name, then rename: a killed job never leaves half a file."""
    import torch

    _atomic_write(Path(path), lambda tmp: torch.save(obj, tmp))


def atomic_write_json(obj: Any, path: str | os.PathLike) -> None:
    def write(tmp):
        with open(tmp, "w") as fh:
            json.dump(obj, fh, indent=1)
            fh.write("\n")

    _atomic_write(Path(path), write)


def read_json(path: str | os.PathLike) -> Any:
    with open(path) as fh:
        return json.load(fh)


# --------------------------------------------------------------------------- reading checkpoints


class UnreadableFile(RuntimeError):
    """A ``.pt`` file ``load_pt`` could not read: ``detail`` says why; ``refused``: it holds objects other
    than tensors and plain values (so it was not written by invrob)."""

    def __init__(self, path: Path, detail: str, refused: bool = False):
        super().__init__(f"{path}: {detail}")
        self.path, self.detail, self.refused = path, detail, refused


def load_pt(path: str | os.PathLike, map_location="cpu") -> Any:
    """``torch.load`` of one of the workflow's ``.pt`` files (checkpoints, prepared splits, robust datasets,
    training states), always with ``weights_only=True`` (no code runs from a file); ``UnreadableFile``
    saying why when it cannot be read.  Every reader of such a file goes through here."""
    import torch

    path = Path(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's text advises weights_only=False for garbage and for a refused object alike: never quoted
        if "global" not in str(exc).lower():  # garbage, not a refused object
            raise UnreadableFile(path, "it cannot be unpickled") from exc
        raise UnreadableFile(path, "it holds objects other than tensors and plain values", refused=True) from exc
    except Exception as exc:  # torch raises several types for truncated / foreign files
        first_line = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise UnreadableFile(path, f"{type(exc).__name__}: {first_line}") from exc


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Load one of our checkpoints safely (``weights_only=True``) or explain what is wrong."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist; run snakemake to train it")
    try:
        ckpt = load_pt(path, map_location)
    except UnreadableFile as exc:
        if not exc.refused:
            raise _corrupt(path, exc.detail) from exc
        raise CheckpointError(
            f"checkpoint {path} holds objects other than tensors and plain values, so it was refused unread "
            f"(torch.load with weights_only=True runs no code from a file): it was not written by invrob. "
            f"Delete it and rerun your snakemake command to train it again."
        ) from exc
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(
            f"checkpoint {path} has no 'state_dict' entry: it was not written by invrob. "
            f"Delete it and rerun your snakemake command to train it again."
        )
    return ckpt


def _corrupt(path: Path, detail: str) -> CheckpointError:
    return CheckpointError(f"checkpoint {path} is corrupt or not a PyTorch checkpoint ({detail}). Delete it and "
                           f"rerun your snakemake command to train it again.")  # fmt: skip


def archive_problem(path: str | os.PathLike) -> str | None:
    """What is wrong with the file ``torch.save`` wrote at ``path`` (``None``: a complete archive).

    Reads only the zip directory at the end of the file (no torch, no unpickling), so it is cheap
    enough to run on every checkpoint and prepared split before a run starts: a truncated or
    overwritten file is named then, before Snakemake deletes any result computed from it.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
        size = os.path.getsize(path)
    except FileNotFoundError:
        return "it does not exist"
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return f"it is not a complete PyTorch file ({exc}); it may be truncated"
    if not any(m.filename.endswith("/data.pkl") for m in members):
        return "it is a zip archive but not a PyTorch file (no data.pkl)"
    if any(m.header_offset + m.compress_size > size for m in members):
        return "it is truncated (its directory names data past the end of the file)"
    return None


class _Inert:
    """Stands in for every class and function a checkpoint's pickle names (tensors, storages)."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


class _HeaderUnpickler(pickle.Unpickler):
    """Unpickles the plain values of a checkpoint (dicts, lists, numbers, strings) and nothing else:
    whatever else the pickle names becomes an inert placeholder, so no code from the file runs."""

    _SAFE = {("collections", "OrderedDict"): collections.OrderedDict}

    def find_class(self, module, name):
        return self._SAFE.get((module, name), _Inert)

    def persistent_load(self, pid):
        return None  # tensor storages: not read


def checkpoint_header(path: str | os.PathLike) -> dict:
    """The plain values of one of our checkpoints (arch, dataset, hparams, seed, history) without
    torch and without reading the weights; raises ``CheckpointError`` for an incomplete file."""
    problem = archive_problem(path)
    if problem is not None:
        raise CheckpointError(f"checkpoint {path}: {problem}")
    try:
        with zipfile.ZipFile(path) as zf:
            pkl = next(n for n in zf.namelist() if n.endswith("/data.pkl"))
            with zf.open(pkl) as fh:
                header = _HeaderUnpickler(fh).load()
    except Exception as exc:
        raise CheckpointError(f"checkpoint {path} cannot be read ({type(exc).__name__}: {exc})") from exc
    if not isinstance(header, dict) or "state_dict" not in header:
        raise CheckpointError(f"checkpoint {path} has no 'state_dict' entry: it was not written by invrob")
    return header


def checkpoint_identity(ckpt: dict) -> dict:
    """What a checkpoint says it is: the four keys of its path in ``results/``."""
    hp = ckpt.get("hparams") if isinstance(ckpt.get("hparams"), dict) else {}
    return {"dataset": ckpt.get("dataset"), "arch": ckpt.get("arch"), "recipe": hp.get("recipe"),
            "seed": ckpt.get("seed")}  # fmt: skip


def identity_mismatch(ckpt: dict, expected: dict) -> str | None:
    """``None`` when ``ckpt`` is the checkpoint ``expected`` (dataset, arch, recipe, seed) names (a recipe
    names it under any equivalent name: ``invrob.pipeline.checkpoint_input``), else a phrase saying what it
    holds instead."""
    got = checkpoint_identity(ckpt)
    arch = expected.get("arch", got["arch"])  # an imported model's name is no recipe (canonical_recipe)

    def key(k: str, value) -> str:  # pgd0 names rot0's checkpoint
        return canonical_recipe(str(value), arch) if k == "recipe" else str(value)

    wrong = [k for k in ("dataset", "arch", "recipe", "seed") if k in expected and key(k, got[k]) != key(k, expected[k])]
    if not wrong:
        return None
    return "it holds " + ", ".join(f"{k} {got[k]!r} (its path says {expected[k]!r})" for k in wrong)
