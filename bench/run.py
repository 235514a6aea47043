"""Benchmark suite: where the pipeline's time goes, measured side by side in one run.

    python3 bench/run.py                 # attacks, augmentation, profiles (a few minutes on 2 CPU cores)
    python3 bench/run.py --device cuda   # the same on a GPU

Prints a table and writes ``bench/results-{device}.json``.  Ratios are what count (absolute
times vary across machines): PGD-40 native vs its floor (40 × one forward+backward to the input)
and vs advertorch; an epoch with device-batched rotation augmentation vs one without and vs
torchvision's per-sample ``RandomRotation`` through a DataLoader; throughput and peak memory of a
robustness and an invariance profile; grid775 throughput and the training-step cost of paper 004's
methods (D.A., worst-of-k for k = 1, 10, 20, S-PGD, with and without the KL regulariser).
A whole pipeline run (wall time, jobs, seconds per rule and evaluation) is ``bench/pipeline.py``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from invrob.attacks.base import _input_gradient, make_attack  # noqa: E402
from invrob.attacks.spatial import correct_under_all, grid_transforms  # noqa: E402
from invrob.data.registry import get_spec  # noqa: E402
from invrob.data.splits import TensorDataset, to_float  # noqa: E402
from invrob.evaluation.measures import robustness_profile, rotation_invariance_profile  # noqa: E402
from invrob.models import build_model  # noqa: E402
from invrob.training.losses import spatial_training_loss  # noqa: E402
from invrob.transforms import random_rotation  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device, repeats=3):
    """Best of ``repeats`` wall times (after one warm-up call)."""
    fn()
    sync(device)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def frozen_model(arch, device):
    torch.manual_seed(0)
    model = build_model(arch, get_spec("fashion_mnist")).to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def bench_pgd(arch, device, batch, steps=40):
    model = frozen_model(arch, device)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 1, 28, 28, generator=g).to(device)
    y = torch.randint(0, 10, (batch,), generator=g).to(device)
    settings = {"steps": steps, "step_size": 0.01, "random_start": True}
    # the floor: `steps` forward+backward passes to the input, timed like the attacks (best of 3)
    floor = timed(lambda: [_input_gradient(model, x, y) for _ in range(steps)], device)
    native = timed(lambda: make_attack("pgd", model, 0.3, settings, "native").perturb(x, y), device)
    advertorch_model = build_model(arch, get_spec("fashion_mnist")).to(device).eval()  # advertorch wants grads on
    advertorch_model.load_state_dict(model.state_dict())
    ref = timed(lambda: make_attack("pgd", advertorch_model, 0.3, settings, "advertorch").perturb(x, y), device)
    return {"arch": arch, "batch": batch, "steps": steps, "forward_backward_s": floor / steps, "floor_s": floor,
            "native_s": native, "advertorch_s": ref, "native_over_floor": native / floor,
            "advertorch_over_native": ref / native}  # fmt: skip


def _epoch(model, opt, batches):
    model.train()
    for x, y in batches:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def bench_epoch(arch, device, n=4096, batch=64, theta=60.0):
    """One epoch three ways: no augmentation, device-batched rotation, torchvision per-sample via DataLoader."""
    import torchvision.transforms as T
    from torch.utils.data import DataLoader, Dataset

    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=g).to(device)
    labels = torch.randint(0, 10, (n,), generator=g).to(device)
    torch.manual_seed(0)
    model = build_model(arch, get_spec("fashion_mnist")).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    gen = torch.Generator(device=device).manual_seed(0)

    def batches(augment):
        order = torch.randperm(n, generator=gen, device=device)
        for s in range(0, n, batch):
            idx = order[s : s + batch]
            x = to_float(images[idx])
            yield (random_rotation(x, theta, gen) if augment else x), labels[idx]

    plain = timed(lambda: _epoch(model, opt, batches(False)), device, repeats=2)
    batched = timed(lambda: _epoch(model, opt, batches(True)), device, repeats=2)

    class PerSample(Dataset):
        rotate = T.RandomRotation(theta, interpolation=T.InterpolationMode.NEAREST, fill=0)
        cpu_images, cpu_labels = images.cpu(), labels.cpu()

        def __len__(self):
            return n

        def __getitem__(self, i):
            return self.rotate(to_float(self.cpu_images[i])), self.cpu_labels[i]

    loader = DataLoader(PerSample(), batch_size=batch, shuffle=True, num_workers=0)
    per_sample = timed(lambda: _epoch(model, opt, ((x.to(device), y.to(device)) for x, y in loader)), device,
                       repeats=2)  # fmt: skip
    return {"arch": arch, "images": n, "batch": batch, "theta": theta, "no_augmentation_s": plain,
            "device_batched_rotation_s": batched, "torchvision_per_sample_s": per_sample,
            "augmentation_overhead": batched / plain - 1.0, "per_sample_over_batched": per_sample / batched}  # fmt: skip


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_profiles(arch, device, n=200):
    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=g),
                         torch.randint(0, 10, (n,), generator=g), get_spec("fashion_mnist")).to(device)  # fmt: skip
    model = frozen_model(arch, device)
    eps = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0]
    pgd = {"steps": 40, "step_size": 0.01, "random_start": True}
    thetas = list(range(0, 181, 10))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t_rob = timed(lambda: robustness_profile(model, data, eps, "pgd", pgd, batch_size=500), device, repeats=1)
    t_inv = timed(lambda: rotation_invariance_profile(model, data, thetas, torch.Generator(device=device).manual_seed(0)),
                  device, repeats=1)  # fmt: skip
    attacked = n * (len(eps) - 1)  # ε = 0 is not attacked
    out = {"arch": arch, "test_images": n, "epsilons": len(eps), "pgd_steps": 40, "thetas": len(thetas),
           "robustness_profile_s": t_rob, "robustness_attacked_images_per_s": attacked / t_rob,
           "invariance_profile_s": t_inv, "invariance_images_per_s": n * (len(thetas) + 1) / t_inv,
           "peak_rss_mb": _peak_rss_mb()}  # fmt: skip
    if device.type == "cuda":
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return out


SPATIAL_METHODS = {  # paper 004's training methods: spec of training.losses.spatial_training_loss (None = natural)
    "natural": None, "D.A.": {"method": "da"}, "D.A.+KL": {"method": "da", "regularizer": "kl", "lambda": 8.0},
    "worst-of-1": {"method": "wok", "k": 1}, "worst-of-10": {"method": "wok", "k": 10},
    "worst-of-20": {"method": "wok", "k": 20}, "worst-of-10+KL": {"method": "wok", "k": 10, "regularizer": "kl", "lambda": 8.0},
    "S-PGD-5": {"method": "spgd", "steps": 5, "step_deg": 10.0, "step_px": 1.0},
}  # fmt: skip


def bench_spatial(arch, device, n=200, batch=64):
    """grid775 throughput (transformed images / s) and the cost of one training step per paper-004 method."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 28, 28, generator=g).to(device)
    y = torch.randint(0, 10, (n,), generator=g).to(device)
    model = frozen_model(arch, device)
    grid = grid_transforms("grid775")
    t_grid = timed(lambda: correct_under_all(model, x, y, *grid, batch_size=2048), device, repeats=1)
    torch.manual_seed(0)
    net = build_model(arch, get_spec("fashion_mnist")).to(device).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    gen = torch.Generator(device=device).manual_seed(0)
    xb, yb = x[:batch], y[:batch]

    def step(spec):
        if spec is None:
            loss = F.cross_entropy(net(xb), yb)
        else:
            loss = spatial_training_loss(net, xb, yb, {"max_deg": 30.0, "max_px": 3.0, **spec}, gen)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()

    steps = {name: timed(lambda spec=spec: step(spec), device) for name, spec in SPATIAL_METHODS.items()}
    return {"arch": arch, "grid775_images": n, "grid775_s": t_grid, "grid775_transformed_per_s": n * 775 / t_grid,
            "train_step_batch": batch, "train_step_s": steps,
            "train_step_over_natural": {k: v / steps["natural"] for k, v in steps.items()}}  # fmt: skip


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--archs", nargs="+", default=["stdcnn", "gcnn"])
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    batch = 500 if device.type == "cuda" else 256
    results = {"device": str(device), "threads": args.threads, "torch": torch.__version__,
               "machine": platform.processor() or platform.machine(),
               "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None}  # fmt: skip
    results["pgd"] = [bench_pgd(a, device, batch) for a in args.archs]
    for r in results["pgd"]:
        print(f"PGD-40 {r['arch']:6s} batch {r['batch']}: native {r['native_s']:.3f} s = "
              f"{r['native_over_floor']:.3f} × floor ({r['floor_s']:.3f} s); advertorch {r['advertorch_s']:.3f} s = "
              f"{r['advertorch_over_native']:.2f} × native", flush=True)  # fmt: skip
    results["epoch"] = [bench_epoch(a, device) for a in args.archs]
    for r in results["epoch"]:
        print(f"epoch  {r['arch']:6s} {r['images']} images: plain {r['no_augmentation_s']:.2f} s, device-batched "
              f"rotation {r['device_batched_rotation_s']:.2f} s (+{100 * r['augmentation_overhead']:.1f} %), "
              f"torchvision per-sample {r['torchvision_per_sample_s']:.2f} s "
              f"({r['per_sample_over_batched']:.2f} × batched)", flush=True)  # fmt: skip
    results["profiles"] = [bench_profiles(a, device) for a in args.archs]
    for r in results["profiles"]:
        print(f"profile {r['arch']:6s}: robustness (PGD-40, {r['epsilons']} ε, {r['test_images']} images) "
              f"{r['robustness_profile_s']:.1f} s = {r['robustness_attacked_images_per_s']:.0f} attacked images/s; "
              f"invariance ({r['thetas']} θ) {r['invariance_profile_s']:.2f} s = "
              f"{r['invariance_images_per_s']:.0f} images/s; peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)  # fmt: skip
    results["spatial"] = [bench_spatial(a, device) for a in args.archs]
    for r in results["spatial"]:
        ratios = ", ".join(f"{k} {v:.1f}×" for k, v in r["train_step_over_natural"].items() if k != "natural")
        print(f"spatial {r['arch']:6s}: grid775 on {r['grid775_images']} images {r['grid775_s']:.1f} s = "
              f"{r['grid775_transformed_per_s']:.0f} transformed images/s; training step vs natural: {ratios}",
              flush=True)  # fmt: skip
    out = Path(args.out or REPO / "bench" / f"results-{device.type}.json")
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
