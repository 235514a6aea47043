"""Training loop: natural, PGD or TRADES adversarial training with on-device augmentation.

The training split lives as one uint8 tensor on the device; each batch is converted to floats
and transformed there (one ``grid_sample`` for the batch), so there are no DataLoader workers and
no per-image Python.  Augmentation, in this order: random crop (zero padding) and horizontal
flip where the dataset asks for them (CIFAR; not with Aug-T/RT), then the recipe's random
rotation and translation.  Adversarial training (Madry et al.) replaces every training batch by
its PGD adversarial examples; TRADES adds β·KL(f(x) ‖ f(x′)) to the natural loss.  Attacks run
with the model in eval mode (batch-norm statistics are not updated by the attack's passes).
CuSP (``curriculum``) changes θ and ε at each learning-rate decay (``epoch_settings``); an
``A-then-B`` recipe starts from the weights of A's checkpoint.  Paper 004's spatial training
(``spatial``) trains on a random or worst-case transform x̃ of each batch, optionally with the
invariance regulariser (``losses.spatial_training_loss``).  Paper 003's D_mix (``mix``) replaces a
fraction α of every batch by images of the robust dataset D_R (``robust_path``); ``snapshots``
saves the model after the listed epochs (attack success rate over training).
Randomness (initialisation, data order, augmentation angles, dropout)
comes from the seed alone: on the CPU two runs with the same seed give identical weights.

State (model, optimiser, epoch, RNG states) is written atomically after every epoch to
``state_path``; a killed job resumes from it.  ``out_path`` (the checkpoint the workflow
sees) is written only once training has finished.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

from .. import paths
from ..data.splits import load_split, to_float
from ..evaluation.measures import clean_accuracy
from ..io import UnreadableFile, atomic_torch_save, load_checkpoint, load_pt
from ..models import build_model
from ..transforms import random_affine, random_crop_flip
from .losses import mix_batch, training_loss

MONITOR_TEST_IMAGES = 1000


def make_optimizer(hp: dict, params) -> torch.optim.Optimizer:
    if hp["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=hp["lr"], momentum=hp.get("momentum", 0.0),
                               weight_decay=hp.get("weight_decay", 0.0))  # fmt: skip
    if hp["optimizer"] == "adam":
        return torch.optim.Adam(params, lr=hp["lr"], weight_decay=hp.get("weight_decay", 0.0))
    raise ValueError(f"unknown optimizer '{hp['optimizer']}' (use 'sgd' or 'adam')")


def make_scheduler(hp: dict, optimizer) -> torch.optim.lr_scheduler.LRScheduler:
    """Step decay at the epochs in ``lr_milestones`` (by ``lr_gamma``); constant when there are none."""
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, hp.get("lr_milestones") or [], hp.get("lr_gamma", 0.1))


def curriculum_stage(epoch: int, milestones) -> int:
    """The learning-rate stage of 0-based ``epoch``: how many decays (``lr_milestones``) came before it."""
    return sum(1 for m in milestones or [] if m <= epoch)


def _at_stage(value, stage: int):
    return value[min(stage, len(value) - 1)] if isinstance(value, list) else value


def epoch_settings(hp: dict, epoch: int) -> tuple[float, dict | None]:
    """The rotation range and the adversarial spec in force during ``epoch`` (0-based).

    Fixed recipes use the same values throughout; CuSP (``curriculum``) moves to the next value of
    its θ and ε lists at every learning-rate decay and stays at the last value (paper 001, Alg. 1).
    """
    stage = curriculum_stage(epoch, hp.get("lr_milestones")) if hp.get("curriculum") else 0
    adv = hp.get("adversarial")
    if adv is not None:
        adv = {**adv, "eps": _at_stage(adv["eps"], stage)}
    return _at_stage(hp["rotation"], stage), adv


def warmed_up(adv: dict | None, epoch: int, batch: int, batches: int) -> dict | None:
    """The adversarial spec of one training step: with ``eps_warmup_epochs`` W, ε grows linearly from
    ε/(W·batches) at the first step to the full ε after W epochs (0-based ``epoch`` and ``batch`` of
    ``batches`` per epoch), so that a small network is not attacked at full strength from its random
    initialisation (where the quick scale's StdCNN collapses to a constant classifier)."""
    warmup = adv.get("eps_warmup_epochs") if adv else None
    if not warmup:
        return adv
    return {**adv, "eps": adv["eps"] * min(1.0, (epoch * batches + batch + 1) / (warmup * batches))}


def augment(x: torch.Tensor, hp: dict, generator: torch.Generator, rotation: float | None = None) -> torch.Tensor:
    """The recipe's training augmentation of a float batch (``rotation`` overrides the recipe's range)."""
    if hp.get("crop_padding") or hp.get("horizontal_flip"):
        x = random_crop_flip(x, hp.get("crop_padding", 0), hp.get("horizontal_flip", False), generator)
    return random_affine(x, hp["rotation"] if rotation is None else rotation, hp.get("translation", 0), generator)


def _rng_state(generator: torch.Generator) -> dict:
    state = {"torch": torch.get_rng_state(), "generator": generator.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(generator: torch.Generator, state: dict) -> None:
    torch.set_rng_state(state["torch"])
    generator.set_state(state["generator"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _warm_start(model: torch.nn.Module, hp: dict, init_path, log) -> None:
    if init_path is None:
        raise ValueError(f"recipe '{hp['recipe']}' starts from '{hp['init']}': pass the checkpoint of that stage")
    ckpt = load_checkpoint(init_path)
    if (ckpt["arch"], ckpt["dataset"], ckpt["hparams"]["recipe"]) != (hp["arch"], hp["dataset"], hp["init"]):
        raise ValueError(f"{init_path} holds {ckpt['arch']}/{ckpt['dataset']}/{ckpt['hparams']['recipe']}, but recipe "
                         f"'{hp['recipe']}' starts from {hp['arch']}/{hp['dataset']}/{hp['init']}")  # fmt: skip
    model.load_state_dict(ckpt["state_dict"])
    log(f"starting from the weights of {init_path} (stage '{hp['init']}')")


def _try_resume(state_path: Path, hp: dict, seed: int, log, resume_key=None) -> dict | None:
    if not state_path.exists():
        return None
    try:
        state = load_pt(state_path)
    except UnreadableFile as exc:  # a state file is a cache: a broken one costs a restart, not an error
        log(f"ignoring unreadable training state {state_path} ({exc.detail}); starting from scratch")
        return None
    if state.get("hparams") != hp or state.get("seed") != seed:
        log(f"ignoring training state {state_path}: it was written for other hyperparameters or seed")
        return None
    if state.get("resume_key") != resume_key:
        log(f"ignoring training state {state_path}: it was written by other training code or from other inputs")
        return None
    return state


def train(hp: dict, data_dir: str | Path, out_path: str | Path, state_path: str | Path, seed: int,
          device: torch.device | str = "cpu", log: Callable[[str], None] = print, progress_file=None,
          on_epoch_end: Callable[[int], None] | None = None,
          prepare_model: Callable[[torch.nn.Module], torch.nn.Module] | None = None,
          init_path: str | Path | None = None, robust_path: str | Path | None = None,
          snapshots: tuple[str | Path, list[int]] | None = None, resume_key=None) -> dict:  # fmt: skip
    """Train the model described by ``hp`` (see ``hparams.recipe_hparams``) and save it to ``out_path``.

    ``resume_key``: what else the training state must have been written with to be resumed (the
    workflow passes the training code's fingerprint and the identity of the input files).

    ``init_path``: the checkpoint of the previous stage of an ``A-then-B`` recipe; its weights are
    the starting point (the optimiser and schedule start afresh).  ``robust_path``: the robust
    dataset of a ``mix{α}`` recipe.  ``snapshots``: (folder, epochs): a checkpoint
    (``paths.snapshot_file``) after each listed epoch.
    """
    device = torch.device(device)
    out_path, state_path = Path(out_path), Path(state_path)
    split, holdout = load_split(data_dir, hp["dataset"], "train"), hp.get("validation", 0)
    train_set = split.subset(hp.get("train_subset"), holdout=holdout).to(device)
    # progress in the log only (never used to select a model): the validation split held out of the
    # training set (paper 000 App. A), else a fixed slice of the test set
    monitor = "validation" if holdout else "test"
    monitor_set = (split.validation(holdout) if holdout else load_split(data_dir, hp["dataset"], "test"))
    monitor_set = monitor_set.subset(MONITOR_TEST_IMAGES).to(device)
    robust_set = None
    if hp.get("mix"):
        if robust_path is None:
            raise ValueError(f"recipe '{hp['recipe']}' trains on D_mix: pass the robust dataset (robust_path)")
        from .robust_dataset import load_robust_dataset

        robust_set = load_robust_dataset(robust_path, hp).to(device)

    torch.manual_seed(seed)
    model = build_model(hp["arch"], train_set.spec)
    if hp.get("init"):
        _warm_start(model, hp, init_path, log)
    model = model.to(device)
    if prepare_model is not None:  # device-specific layout (devices.apply_performance_options)
        model = prepare_model(model)
    optimizer = make_optimizer(hp, model.parameters())
    scheduler = make_scheduler(hp, optimizer)
    generator = torch.Generator(device=device).manual_seed(seed)
    history, start_epoch = [], 0

    state = _try_resume(state_path, hp, seed, log, resume_key)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        _set_rng_state(generator, state["rng"])
        history, start_epoch = state["history"], state["epoch"]
        log(f"resuming from {state_path} after epoch {start_epoch}")
    if snapshots is not None:  # keep only the snapshots of the epochs this run does not repeat
        for staged in Path(snapshots[0]).glob(paths.SNAPSHOT_GLOB):
            epoch = paths.snapshot_epoch(staged.name)
            if epoch > start_epoch or epoch not in snapshots[1]:
                staged.unlink()

    n, bs = len(train_set), hp["batch_size"]
    adv = hp.get("adversarial")
    adv_note = f", {adv['method'].upper()}-{adv['steps']} training at ε={adv['eps']}" if adv and adv["eps"] else ""
    if adv_note and adv.get("eps_warmup_epochs"):
        adv_note += f" (ε ramped up over {adv['eps_warmup_epochs']:g} epochs)"
    shift_note = f", translation ±{hp['translation']}" if hp.get("translation") else ""
    if hp.get("spatial"):
        sp = hp["spatial"]
        shift_note += (f", spatial {sp['method']}{sp.get('k', '')} within ±{sp['max_deg']}°/±{sp['max_px']} px"
                       + (f" + {sp['lambda']}·{sp['regularizer']} (x̃ by {sp['select']})" if sp.get("regularizer") else ""))
    if hp.get("mix"):
        shift_note += f", D_mix α={hp['mix']['alpha']}"
    log(f"training {hp['arch']} on {n} {hp['dataset']} images, rotation ±{hp['rotation']}°{shift_note}{adv_note}, "
        f"{hp['epochs']} epochs, {hp['optimizer']} lr {hp['lr']}, batch {bs}, seed {seed}, device {device}")  # fmt: skip
    for epoch in range(start_epoch, hp["epochs"]):
        rotation, adv = epoch_settings(hp, epoch)
        if hp.get("curriculum"):
            log(f"epoch {epoch + 1}: curriculum stage θ ±{rotation}°, ε {adv['eps'] if adv else 0:.4g}, "
                f"lr {optimizer.param_groups[0]['lr']:.4g}")  # fmt: skip
        model.train()
        t0, total_loss, correct = time.perf_counter(), 0.0, 0
        order = torch.randperm(n, generator=generator, device=device)
        steps = range(0, n, bs)
        for batch, start in enumerate(tqdm(steps, desc=f"epoch {epoch + 1}/{hp['epochs']}", file=progress_file, mininterval=5,
                          disable=progress_file is None)):  # fmt: skip
            idx = order[start : start + bs]
            images, y = train_set.images[idx], train_set.labels[idx]
            if robust_set is not None:
                images, y = mix_batch(images, y, robust_set, hp["mix"]["alpha"], generator)
            x = augment(to_float(images), hp, generator, rotation)
            loss, logits = training_loss(model, x, y, warmed_up(adv, epoch, batch, len(steps)), generator,
                                         hp.get("spatial"))  # fmt: skip
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == y).sum())
        scheduler.step()
        model.eval()
        record = {"epoch": epoch + 1, "train_loss": total_loss / n, "train_accuracy": correct / n,
                  f"{monitor}_accuracy": clean_accuracy(model, monitor_set), "seconds": time.perf_counter() - t0,
                  # the CPU's thread count changes the order of float sums, so the trained weights: a
                  # retraining matches bit for bit only with the same device and thread count
                  "device": str(device), "torch_threads": torch.get_num_threads()}  # fmt: skip
        history.append(record)
        log(f"epoch {epoch + 1}: loss {record['train_loss']:.4f}, train acc {record['train_accuracy']:.4f}, "
            f"{monitor} acc ({len(monitor_set)} images) {record[f'{monitor}_accuracy']:.4f}, "
            f"{record['seconds']:.1f} s")  # fmt: skip
        # the snapshot before the state: a job killed in between redoes this epoch and its snapshot
        if snapshots is not None and epoch + 1 in snapshots[1]:
            _save_checkpoint(model, hp, seed, history, Path(snapshots[0]) / paths.snapshot_file(epoch + 1))
        atomic_torch_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                           "scheduler": scheduler.state_dict(), "epoch": epoch + 1,
                           "rng": _rng_state(generator), "history": history, "hparams": hp, "seed": seed,
                           "resume_key": resume_key}, state_path)  # fmt: skip
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1)

    _save_checkpoint(model, hp, seed, history, out_path)
    state_path.unlink(missing_ok=True)
    return {"history": history}


def _save_checkpoint(model: torch.nn.Module, hp: dict, seed: int, history: list[dict], path: Path) -> None:
    model_cpu = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_torch_save({"state_dict": model_cpu, "arch": hp["arch"], "dataset": hp["dataset"], "hparams": hp,
                       "seed": seed, "history": list(history)}, path)  # fmt: skip
