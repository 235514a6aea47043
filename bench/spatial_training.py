"""Papers 003/004 on one device: training time per epoch of each spatial-training method, grid775
throughput, and the D_R → D_mix → snapshots path, on generated CIFAR-shaped data.

    python3 bench/spatial_training.py                          # CPU, ResNet-32, 1024 images
    python3 bench/spatial_training.py --device cuda --images 10000

Generated images train nothing useful: this measures cost (and that every path runs on the
device), not accuracy.  Prints a table and writes ``bench/spatial-training-{device}.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from snakemake.utils import update_config  # noqa: E402

from invrob.config import SCHEMA_PATH, load_config, validate_config  # noqa: E402
from invrob.data.splits import load_split  # noqa: E402
from invrob.evaluation.registry import load_model, run_evaluation  # noqa: E402
from invrob.evaluation.settings import evaluation_settings  # noqa: E402
from invrob.training.hparams import recipe_hparams  # noqa: E402
from invrob.training.loop import train  # noqa: E402
from invrob.training.robust_dataset import build_robust_dataset, save_robust_dataset  # noqa: E402

METHODS = ["rot0", "da", "da-kl", "wok1", "wok10", "wok20", "wok10-kl", "wok10-l2", "wok10-kl-byh", "spgd", "spgd-kl"]


def write_data(folder: Path, n_train: int, n_test: int) -> None:
    g = torch.Generator().manual_seed(0)
    for split, n in (("train", n_train), ("test", n_test)):
        torch.save({"images": torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g),
                    "labels": torch.randint(0, 10, (n,), generator=g)}, folder / f"{split}.pt")  # fmt: skip


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--arch", default="resnet32")
    ap.add_argument("--images", type=int, default=1024)
    ap.add_argument("--test-images", type=int, default=200)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    device = torch.device(args.device)
    overrides = {"datasets": {"cifar10": {"pgd": {"steps": 10, "step_size": 2 / 255, "random_start": True},
                                       "augment": {"crop_padding": 4, "horizontal_flip": True}}},
              "training": {args.arch: {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
                                       "batch_size": 128, "epochs": 1}},
              "spatial_training": {"spgd": {"steps": 5, "step_deg": 10.0, "step_px": 1.0}},
              "robust_dataset": {"steps": 20, "step_size": 0.1,
                                 "sources": {"cifar10": {"arch": args.arch, "recipe": "rot0", "seed": 0}}}}  # fmt: skip
    config = load_config()  # config.yaml, validated: the schema's defaults for everything not set here
    update_config(config, overrides)
    validate_config(config, SCHEMA_PATH)
    out = {"device": str(device), "arch": args.arch, "images": args.images,
           "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None, "epoch_s": {}}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_data(tmp, args.images, args.test_images)
        warm = recipe_hparams(config, "cifar10", args.arch, "rot0")  # untimed: cuDNN autotuning, allocator
        train(warm, tmp, tmp / "warm.pt", tmp / "warm.state", 0, device, log=lambda m: None)
        for recipe in METHODS:
            hp = recipe_hparams(config, "cifar10", args.arch, recipe)
            history = train(hp, tmp, tmp / f"{recipe}.pt", tmp / f"{recipe}.state", 0, device, log=lambda m: None)
            out["epoch_s"][recipe] = history["history"][-1]["seconds"]
            print(f"{recipe:14s} {out['epoch_s'][recipe]:.2f} s/epoch "
                  f"({out['epoch_s'][recipe] / out['epoch_s']['rot0']:.1f} × natural)", flush=True)  # fmt: skip
        settings = evaluation_settings(config, "cifar10", "spatial-grid775")
        grid = run_evaluation("spatial-grid775", tmp / "rot0.pt", tmp, settings, device, log=lambda m: None)
        out["grid775_s"] = grid["seconds"]
        print(f"grid775 on {args.test_images} images: {grid['seconds']:.2f} s = "
              f"{args.test_images * 775 / grid['seconds']:.0f} transformed images/s", flush=True)  # fmt: skip
        t0 = time.perf_counter()
        model, _ = load_model(tmp / "rot0.pt", device)
        data = load_split(tmp, "cifar10", "train").to(device)
        robust, stats = build_robust_dataset(model, data, 20, 0.1, 500, log=lambda m: None)
        save_robust_dataset(robust, {"arch": args.arch, "recipe": "rot0", "seed": 0}, {"steps": 20, "step_size": 0.1},
                            stats, tmp / "robust.pt")  # fmt: skip
        out["robust_dataset_s_per_image_step"] = (time.perf_counter() - t0) / (len(data) * 20)
        hp = recipe_hparams(config, "cifar10", args.arch, "mix0.5")
        train(hp, tmp, tmp / "mix.pt", tmp / "mix.state", 0, device, log=lambda m: None, robust_path=tmp / "robust.pt",
              snapshots=(tmp / "snapshots", [1]))  # fmt: skip
        settings = {**evaluation_settings(config, "cifar10", "pgd-linf"), "epsilons": [2 / 255, 8 / 255], "steps": 7}
        asr = run_evaluation("pgd-linf", tmp / "snapshots" / "epoch001.pt", tmp, settings, device, log=lambda m: None)
        print(f"D_R: {stats['images']} images, representation distance {stats['distance_start']:.3f} → "
              f"{stats['distance_end']:.3f}; D_mix snapshot evaluated: ℓ∞ ASR {asr['results']['attack_success_rate']}")
        out["robust_dataset_stats"] = stats
    path = Path(args.out or REPO / "bench" / f"spatial-training-{device.type}.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
