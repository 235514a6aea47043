"""AutoAttack's cost against PGD-40's, per attacked image, on trained checkpoints (CPU or GPU).

    python bench/autoattack.py --results DIR [--data DIR] [--device cuda] [--images 100]
    python bench/autoattack.py --results DIR --norm l2 [--eps 0.5]     # paper 003's ℓ2, on the D_mix models

DIR is a results folder of the pipeline (e.g. a quick-scale run): for each checkpoint named in
``--models`` (default: a natural and a PGD-trained StdCNN, the PGD-trained LeNet, a natural GCNN), on
its first ``--images`` class-balanced test images at ``--eps`` (normalised units, paper 000's) it times
PGD-40 (step 0.01 · ε/0.3, random start), AutoAttack ``fast`` and ``standard`` (native, the reference's
settings) and, when torchattacks is installed, torchattacks' AutoAttack (which runs APGD, APGD-T and FAB
with 10 steps, not the reference's 100).  Per attack: seconds per image, robust accuracy, and for
AutoAttack the seconds and images fooled per stage.  Writes ``bench/autoattack-{device}.json``.
Cost per image depends on the model: an image leaves the ensemble once fooled, so robust models cost more.

With ``--norm l2`` the reference is paper 003's ℓ2 PGD (100 steps of 0.1 from the image, ``pgd_success.l2``)
at ``--eps`` in pixels, the models are the D_mix ones of paper 003's Fig 3 (quick scale: StdCNNs on the p003
schedule) and AutoAttack runs in ℓ2; it writes ``bench/autoattack-l2-{device}.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from invrob.attacks.autoattack import AutoAttack  # noqa: E402
from invrob.attacks.pgd import L2PGD, LinfPGD  # noqa: E402
from invrob.data.registry import get_spec  # noqa: E402
from invrob.data.splits import to_float  # noqa: E402
from invrob.evaluation.registry import load_model, test_images  # noqa: E402

MODELS = ["stdcnn/rot0", "stdcnn/pgd0.1", "madry_lenet/pgd0.1", "gcnn/rot0"]
MODELS_L2 = ["stdcnn/rot0-schedp003", "stdcnn/mix0.1-schedp003", "stdcnn/mix1-schedp003"]  # α = 0, 0.1, 1


def robust(model, adv, y):
    with torch.no_grad():
        return float((model(adv).argmax(1) == y).float().mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", required=True, help="a results folder (results/<dataset>/<arch>/<recipe>/seed0/model.pt)")
    ap.add_argument("--data", help="the dataset's prepared folder (default: DIR/../data/<dataset>)")
    ap.add_argument("--dataset", default="fashion_mnist")
    ap.add_argument("--models", nargs="+", help="arch/recipe of seed 0 (default: four paper-000 models; with "
                    "--norm l2 three D_mix ones)")
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--norm", choices=["linf", "l2"], default="linf")
    ap.add_argument("--eps", type=float, help="ℓ∞: radius in normalised units (× the dataset's std), default 0.1; "
                    "ℓ2: in pixels, default 0.5")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    results = Path(args.results)
    data_dir = Path(args.data) if args.data else results.parent / "data" / args.dataset
    l2 = args.norm == "l2"
    models = args.models or (MODELS_L2 if l2 else MODELS)
    given = args.eps if args.eps is not None else 0.5 if l2 else 0.1
    eps = given if l2 else given * float(get_spec(args.dataset).std[0])
    data = test_images(data_dir, args.dataset, {"attacked": args.images}).to(device)
    x, y = to_float(data.images), data.labels
    rows = []
    try:
        import torchattacks
    except ImportError:
        torchattacks = None
    for name in models:
        arch, recipe = name.split("/")
        model, _ = load_model(results / args.dataset / arch / recipe / "seed0" / "model.pt", device)
        row = {"model": name, "images": len(y), "epsilon_pixels": eps, "clean": robust(model, x, y), "attacks": {}}

        def timed(label, make, stages=None):
            torch.manual_seed(0)
            t0 = time.perf_counter()
            adv = make()
            if device.type == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - t0
            row["attacks"][label] = {"seconds_per_image": seconds / len(y), "robust_accuracy": robust(model, adv, y),
                                     **({"stages": stages()} if stages else {})}  # fmt: skip
            print(f"{name:22s} {label:24s} {seconds / len(y) * 1000:9.1f} ms/image  robust "
                  f"{row['attacks'][label]['robust_accuracy']:.3f}", flush=True)  # fmt: skip

        reference = "pgd-l2-100" if l2 else "pgd-40"
        if l2:
            timed(reference, lambda: L2PGD(model, eps, 100, 0.1).perturb(x, y))
        else:
            timed(reference, lambda: LinfPGD(model, eps, 40, 0.01 * eps / 0.3, True).perturb(x, y))
        for version in ("fast", "standard"):
            attack = AutoAttack(model, eps, version, generator=torch.Generator(device=device).manual_seed(0),
                                norm=args.norm)  # fmt: skip
            timed(f"autoattack-{version}", lambda: attack.perturb(x, y), lambda: attack.stages)
        if torchattacks is not None:
            ref = torchattacks.AutoAttack(model, norm="L2" if l2 else "Linf", eps=eps, version="standard",
                                          n_classes=10, seed=0)  # fmt: skip
            timed("torchattacks-autoattack", lambda: ref(x, y))
        pgd = row["attacks"][reference]["seconds_per_image"]
        cost = "cost_over_pgd_l2_100" if l2 else "cost_over_pgd40"
        row[cost] = {k: v["seconds_per_image"] / pgd for k, v in row["attacks"].items()}
        rows.append(row)
    out = Path(args.out or REPO / "bench" / f"autoattack-{'l2-' if l2 else ''}{device.type}.json")
    radius = {"norm": "l2", "epsilon_pixels": given} if l2 else {"epsilon_normalized": given}
    out.write_text(json.dumps({"machine": platform.processor() or platform.machine(), "threads": args.threads,
                               "torch": torch.__version__, "dataset": args.dataset, **radius,
                               "date": time.strftime("%Y-%m-%d"), "models": rows}, indent=1) + "\n")  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
