"""Bring your own checkpoint: a model trained elsewhere, profiled with the pipeline's evaluations.

A config entry ``external_models.NAME`` names a factory (``package.module:function`` or
``path/to/file.py:function``) that builds the network, a state-dict file, the dataset it classifies
and the input normalisation it expects.  The rule ``import_model`` checks it once (the factory
imports, the weights fit, the model takes the dataset's images and gives one score per class, and
it reaches ``min_accuracy`` on a few test images) and writes it as a checkpoint of the pipeline,
``results/DATASET/external/NAME/seed0/model.pt`` (arch ``external``, recipe ``NAME``, seed 0), so
that every evaluation rule runs on it unchanged.  Its targets ``figures/ext_NAME.*`` (kind
``external_profile``) and ``tables/ext_NAME.*`` (``external_summary``) are added to the config's
figures and tables when the config is validated (``add_targets``).

Loading is safe: the state dict is read with ``weights_only=True`` (``invrob.io.load_pt``); the
checkpoint keeps the factory's name and arguments, and the evaluations build the network from them.
Torch-free at the top level: the DAG and the config checks import this module.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

from .config import ConfigError
from .data.registry import DATASETS
from .evaluation.names import PGD_NORMS, SUCCESS_ATTACKS, in_space, success

EXTERNAL = "external"  # the {arch} of every imported model in results/ (never an architecture of the zoo)
SEED = "0"  # one checkpoint: one seed
TARGET_PREFIX = "ext_"
KINDS = {"figures": "external_profile", "tables": "external_summary"}
INVARIANCE = ("invariance-rotation", "invariance-translation", "invariance-rt")


class ImportRefused(ValueError):
    """An external model that cannot be imported; the message names the config key and the fix."""


def where(name: str, key: str | None = None) -> str:
    return f"external_models.{name}" + (f".{key}" if key else "")


def target_name(name: str) -> str:
    return TARGET_PREFIX + name


def add_targets(config: dict) -> None:
    """Give every external model its figure and table (``ext_NAME``) in the config's sections."""
    for name, record in (config.get("external_models") or {}).items():
        for section, kind in KINDS.items():
            if config.get(section) is None:
                config[section] = {}
            entries = config[section]
            target = target_name(name)
            if target in entries and entries[target].get("external") != name:
                raise ConfigError(f"{section}.{target}: this name is the target of {where(name)}; name your "
                                  f"{section[:-1]} otherwise")  # fmt: skip
            entries[target] = {"kind": kind, "dataset": record["dataset"], "arch": EXTERNAL, "external": name,
                               "epsilon_space": record["epsilon_space"]}  # fmt: skip


def check(config: dict) -> None:
    """What the schema cannot check of ``external_models``: each model's dataset configured, one normalisation
    value per channel (or one for all)."""
    for name, record in (config.get("external_models") or {}).items():
        if record["dataset"] not in config["datasets"]:
            raise ConfigError(f"{where(name, 'dataset')}: '{record['dataset']}' is not configured under 'datasets:' "
                              f"(configured: {sorted(config['datasets'])}); add it there")  # fmt: skip
        normalization = record.get("normalization")
        channels = DATASETS[record["dataset"]].shape[0]
        for key in ("mean", "std") if normalization else ():
            if len(normalization[key]) not in (1, channels):
                raise ConfigError(f"{where(name, 'normalization')}.{key}: {len(normalization[key])} values, but "
                                  f"{DATASETS[record['dataset']].title} images have {channels} channel"
                                  f"{'s' if channels > 1 else ''}; give one per channel (or one for all)")  # fmt: skip


def evaluations(config: dict, name: str) -> list[str]:
    """Every evaluation an external model's profile reads: clean accuracy, the three invariance profiles,
    a robustness profile per attack of ``evaluation.attacks``, DeepFool, paper 003's ℓ∞ and ℓ2 PGD
    (accuracy and attack success rate, pixel radii; and AutoAttack's at the same radii when it is one of the
    attacks), and its spatial attacks."""
    record = config["external_models"][name]
    space, attacks = record["epsilon_space"], config["evaluation"]["attacks"]
    paper003 = [success(a, n) for a in SUCCESS_ATTACKS if a == "pgd" or a in attacks for n in PGD_NORMS]
    return ["clean", *INVARIANCE, *(in_space(f"robustness-{a}", space) for a in attacks),
            in_space("deepfool", space), *paper003, *(f"spatial-{a}" for a in record["spatial"])]  # fmt: skip


# --------------------------------------------------------------------------- the import rule's inputs and params


def _split_factory(factory: str) -> tuple[str, str]:
    module, _, function = factory.rpartition(":")
    return module, function


def factory_file(factory: str, root: Path | None = None) -> Path | None:
    """The source file of ``factory``, found without importing it: ``file.py`` (relative to ``root``, the run
    folder), or ``package.module`` under ``root`` or on ``sys.path``; None when it is not found as a file."""
    module, _ = _split_factory(factory)
    root = Path.cwd() if root is None else Path(root)
    if module.endswith(".py"):
        path = Path(module) if Path(module).is_absolute() else root / module
        return path if path.is_file() else None
    parts = module.split(".")
    for base in [root, *map(Path, filter(None, sys.path))]:
        for candidate in (base.joinpath(*parts).with_suffix(".py"), base.joinpath(*parts, "__init__.py")):
            if candidate.is_file():
                return candidate
    return None


def import_inputs(config: dict, name: str, dataset: str) -> list[str]:
    """The files the import of ``results/{dataset}/external/{name}`` reads besides the test split: the state
    dict and the factory's source file where it is the user's (an edit of either imports the model again,
    and reruns its evaluations)."""
    if name not in (config.get("external_models") or {}):
        raise ConfigError(f"no model '{name}' under external_models (configured: "
                          f"{sorted(config.get('external_models') or {})})")  # fmt: skip
    record = config["external_models"][name]
    if dataset != record["dataset"]:
        raise ConfigError(f"results/{dataset}/external/{name}: {where(name)} classifies {record['dataset']}, not "
                          f"{dataset}; its results are under results/{record['dataset']}/external/{name}")  # fmt: skip
    if not Path(record["state_dict"]).is_file():
        raise ConfigError(f"{where(name, 'state_dict')}: '{record['state_dict']}' is not a file (relative to the "
                          f"run folder {Path.cwd()}); give the path of the file torch.save wrote")  # fmt: skip
    source, module = factory_file(record["factory"]), _split_factory(record["factory"])[0]
    if module.endswith(".py") and source is None:
        raise ConfigError(f"{where(name, 'factory')}: '{module}' is not a file (relative to the run folder "
                          f"{Path.cwd()})")  # fmt: skip
    return [record["state_dict"], *([str(source)] if source is not None and not _in_package(source) else [])]


def _in_package(path: Path) -> bool:
    """Whether ``path`` is a module of installed packages (its edits are not the user's model's)."""
    return bool({"site-packages", "dist-packages"} & set(path.parts))


def import_params(config: dict, name: str) -> dict:
    """What an imported checkpoint is made of besides its input files: the name, the factory and its arguments,
    the dataset and the normalisation (``min_accuracy`` and ``check_images`` only decide whether it is
    refused: the import's script reads them from the config, so changing them imports nothing again)."""
    record = config["external_models"][name]
    return {"name": name, **{k: record[k] for k in ("factory", "kwargs", "dataset", "normalization")}}


# --------------------------------------------------------------------------- building and importing (torch)


@contextlib.contextmanager
def _on_path(folder: Path):
    """``folder`` first on ``sys.path`` while importing, unless it is there already."""
    added = str(folder) not in sys.path
    if added:
        sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        if added:
            sys.path.remove(str(folder))


def load_factory(record: dict):
    """The factory function ``record['factory']`` names (imported now); ``ImportRefused`` naming the key."""
    module_name, function = _split_factory(record["factory"])
    key = where(record["name"], "factory")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name).resolve()
            if not path.is_file():
                raise ImportRefused(f"{key}: '{module_name}' is not a file (relative to the run folder {Path.cwd()})")
            # one module per file content: an edited file is loaded afresh in a process that loaded it before
            tag = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            spec = importlib.util.spec_from_file_location(f"invrob_external_{path.stem}_{tag}", path)
            module = sys.modules.get(spec.name)
            if module is None:
                module = importlib.util.module_from_spec(spec)
                sys.modules[spec.name] = module  # before it runs: dataclasses and pickling look it up there
                try:
                    with _on_path(path.parent):  # its own imports of modules beside it
                        spec.loader.exec_module(module)
                except BaseException:
                    del sys.modules[spec.name]
                    raise
        else:
            with _on_path(Path.cwd()):  # a module under the run folder
                module = importlib.import_module(module_name)
    except ImportRefused:
        raise
    except Exception as exc:
        raise ImportRefused(f"{key}: cannot import '{module_name}' ({type(exc).__name__}: {exc}); give an importable "
                            f"package.module or a path/to/file.py relative to the run folder") from None  # fmt: skip
    factory = getattr(module, function, None)
    if not callable(factory):
        raise ImportRefused(f"{key}: '{module_name}' has no function '{function}'")
    return factory


def build(record: dict):
    """The network of an external model, with its input normalisation in front: takes [0, 1] pixels."""
    import torch.nn as nn

    from .models.layers import Normalize

    try:
        net = load_factory(record)(**record["kwargs"])
    except ImportRefused:
        raise
    except Exception as exc:
        raise ImportRefused(f"{where(record['name'], 'factory')}: {record['factory']}(**kwargs) failed "
                            f"({type(exc).__name__}: {exc}); check {where(record['name'], 'kwargs')}") from None  # fmt: skip
    if not isinstance(net, nn.Module):
        raise ImportRefused(f"{where(record['name'], 'factory')}: {record['factory']} returned a "
                            f"{type(net).__name__}, not a torch.nn.Module")  # fmt: skip
    normalization = record.get("normalization")
    first = Normalize(normalization["mean"], normalization["std"]) if normalization else nn.Identity()
    return nn.Sequential(first, net)  # [1]: the user's network, whose state dict the checkpoint keeps


def build_from_checkpoint(ckpt: dict):
    """The network of an imported checkpoint (``invrob.models.BUILDERS``): its record's factory, normalisation in front."""
    return build(ckpt["external"])


def read_state_dict(path: str | Path, name: str) -> dict:
    """The tensors of a state-dict file (``weights_only=True``): the file's dict, or the one it holds under
    ``state_dict`` / ``model``; DataParallel's ``module.`` prefix dropped."""
    import torch

    from .io import UnreadableFile, load_pt

    key = where(name, "state_dict")
    try:
        blob = load_pt(path)
    except UnreadableFile as exc:
        extra = (" (torch.load with weights_only=True runs no code from a file: save model.state_dict(), not the "
                 "model)") if exc.refused else ""  # fmt: skip
        raise ImportRefused(f"{key}: {path} cannot be read: {exc.detail}{extra}") from None
    if isinstance(blob, dict):
        for inner in ("state_dict", "model"):
            if isinstance(blob.get(inner), dict):
                blob = blob[inner]
                break
    if not isinstance(blob, dict) or not blob or not all(isinstance(v, torch.Tensor) for v in blob.values()):
        raise ImportRefused(f"{key}: {path} holds no state dict (a dict of tensors, as model.state_dict() "
                            f"returns, or a dict with one under 'state_dict' or 'model')")  # fmt: skip
    if all(k.startswith("module.") for k in blob):
        blob = {k.removeprefix("module."): v for k, v in blob.items()}
    return dict(blob)


def _load_weights(net, state: dict, name: str, path) -> None:
    key = where(name, "state_dict")
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [f"{k} {tuple(state[k].shape)} (the network's: {tuple(own[k].shape)})" for k in own
             if k in state and state[k].shape != own[k].shape]  # fmt: skip
    if missing or unexpected or wrong:
        parts = [f"{label} {', '.join(ks[:4])}{' …' if len(ks) > 4 else ''} ({len(ks)} in all)"
                 for label, ks in (("missing", missing), ("unexpected", unexpected), ("of another shape", wrong)) if ks]
        raise ImportRefused(f"{key}: {path} does not fit the network of {where(name, 'factory')}: keys "
                            f"{'; '.join(parts)}; check the factory and its kwargs")  # fmt: skip
    net.load_state_dict(state)


def import_checkpoint(record: dict, state_path: str | Path, data_dir: str | Path, out_path: str | Path,
                      min_accuracy: float = 0.5, check_images: int = 256, device="cpu", log=print) -> dict:  # fmt: skip
    """Check an external model on its dataset and write it as a checkpoint of the pipeline; returns the check.

    Refused (``ImportRefused``, naming the config key) when the factory does not import or build, the weights
    do not fit, the model fails on the dataset's images or gives other than one score per class, or its
    accuracy on ``check_images`` test images is below ``min_accuracy``.  The checkpoint keeps the whole model's
    state dict (the normalisation's buffers, then the network's under ``1.``)."""
    import torch

    from .data.splits import load_split
    from .evaluation.measures import float_batches
    from .io import atomic_torch_save

    name, dataset = record["name"], record["dataset"]
    model = build(record)
    state = read_state_dict(state_path, name)
    _load_weights(model[1], state, name, state_path)
    model.to(device).eval()
    test = load_split(data_dir, dataset, "test").subset(check_images)
    spec = test.spec
    correct, seen = 0, 0
    with torch.no_grad():
        for batch, x in float_batches(test.images.to(device), 256):  # [0, 1] pixels, as every evaluation's
            y = test.labels[batch].to(device)
            try:
                out = model(x)
            except Exception as exc:
                raise ImportRefused(f"{where(name)}: the model fails on {spec.title} images (a batch of shape "
                                    f"{tuple(x.shape)}, pixels in [0, 1]): {type(exc).__name__}: "
                                    f"{str(exc).splitlines()[0][:200]}; check {where(name, 'dataset')} and "
                                    f"{where(name, 'factory')}")  # fmt: skip
            if not isinstance(out, torch.Tensor) or tuple(out.shape) != (len(x), spec.num_classes):
                shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                raise ImportRefused(f"{where(name)}: the model returns {shape} for a batch of {len(x)} {spec.title} "
                                    f"images, not one score per class ({len(x)}, {spec.num_classes}); check "
                                    f"{where(name, 'dataset')} and {where(name, 'factory')}")  # fmt: skip
            correct += int((out.argmax(1) == y).sum())
            seen += len(x)
    accuracy = correct / seen
    log(f"{name}: {record['factory']} on {seen} {spec.title} test images: accuracy {accuracy:.4f}")
    if accuracy < min_accuracy:
        raise ImportRefused(f"{where(name)}: accuracy {accuracy:.3f} on {seen} {spec.title} test images is below "
                            f"min_accuracy {min_accuracy}: the pipeline feeds pixels in [0, 1], so a model "
                            f"trained on normalised inputs needs {where(name, 'normalization')} (mean and std); check "
                            f"that too, {where(name, 'dataset')} and the weights")  # fmt: skip
    check = {"accuracy": accuracy, "images": seen}
    hparams = {"dataset": dataset, "arch": EXTERNAL, "recipe": name, "rotation": 0.0, "external": record}
    atomic_torch_save({"state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                       "arch": EXTERNAL, "dataset": dataset, "hparams": hparams, "seed": int(SEED), "history": [],
                       "external": record, "import_check": check}, out_path)  # fmt: skip
    return check
