"""Paper 001 §3 as a target: classifiers trained on the cyclic-code distribution, their adversarial
and spatial accuracies beside Theorem 2's bound, and Proposition 1's accuracies exactly and by
Monte Carlo (``results/theory/cyclic_code.json``; ``figures/p001_theorem2``; the claims).

Classifiers (``theory.classifiers`` × training): a linear classifier sign(w₀x₀ + w·x + b) and a
one-hidden-layer MLP, each trained by logistic loss naturally, ℓ∞-adversarially at every radius of
``theory.adversarial_epsilons`` (the linear model against its exact worst case, x − ε·y·sign(w);
the MLP against PGD), and on randomly shifted inputs r(X).  Linear classifiers are evaluated
exactly (closed forms in ``invrob.theory``); MLPs by Monte Carlo on ``test_samples`` fresh samples,
spatial accuracy as the mean over the d/m shifts, adversarial accuracy under PGD (an upper bound on
the true one).  Two reference classifiers need no training: the best classifier f* and sign(x₀).
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch

from .code import (
    CyclicCodeModel,
    cyclic_shift,
    m_sequence,
    proportion,
    relative_distance,
    theorem2_bound,
    theorem2_epsilon,  # fmt: skip
)

TRAININGS = ("natural", "adversarial", "shift")


def model_of(settings: dict) -> CyclicCodeModel:
    return CyclicCodeModel(m_sequence(settings["code_degree"]), settings["shift_unit"], settings["p"])


def _network(kind: str, inputs: int, hidden: int) -> torch.nn.Module:
    if kind == "linear":
        return torch.nn.Linear(inputs, 1)
    return torch.nn.Sequential(torch.nn.Linear(inputs, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))


def _margin(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return y * net(x).squeeze(-1)


def pgd_linf(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float, steps: int,
             generator: torch.Generator) -> torch.Tensor:  # fmt: skip
    """ℓ∞ PGD on the logistic loss (random start, step 2.5 ε / steps), all d + 1 coordinates."""
    if epsilon == 0:
        return x
    delta = (torch.rand(x.shape, generator=generator) * 2 - 1) * epsilon
    step = 2.5 * epsilon / steps
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = torch.nn.functional.softplus(-_margin(net, x + delta, y)).sum()
        (grad,) = torch.autograd.grad(loss, delta)
        delta = (delta.detach() + step * grad.sign()).clamp_(-epsilon, epsilon)
    return x + delta.detach()


def _worst_case_linear(net: torch.nn.Linear, x: torch.Tensor, y: torch.Tensor, epsilon: float) -> torch.Tensor:
    """The exact worst ℓ∞ perturbation of a linear classifier: x − ε·y·sign(w)."""
    return x - epsilon * y[:, None] * net.weight.detach().sign()


def train_classifier(model: CyclicCodeModel, kind: str, training: str, epsilon: float, settings: dict,
                     seed: int) -> torch.nn.Module:  # fmt: skip
    """One classifier trained by Adam on ``train_samples`` samples (minibatches of 500)."""
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x_np, y_np = model.sample(settings["train_samples"], rng)
    net = _network(kind, model.d + 1, settings["hidden"])
    opt = torch.optim.Adam(net.parameters(), lr=settings["lr"])
    for _ in range(settings["epochs"]):
        xs = model.random_shift(x_np, rng) if training == "shift" else x_np
        x, y = torch.as_tensor(xs, dtype=torch.float32), torch.as_tensor(y_np, dtype=torch.float32)
        for idx in torch.randperm(len(y), generator=gen).split(500):
            xb, yb = x[idx], y[idx]
            if training == "adversarial":
                xb = (_worst_case_linear(net, xb, yb, epsilon) if kind == "linear"
                      else pgd_linf(net, xb, yb, epsilon, settings["pgd_steps"], gen))  # fmt: skip
            loss = torch.nn.functional.softplus(-_margin(net, xb, yb)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def _linear_point(model: CyclicCodeModel, w0: float, w: np.ndarray, b: float, epsilon: float) -> dict:
    return {"accuracy": model.linear_accuracy(w0, w, b), "adversarial_accuracy": model.linear_accuracy(w0, w, b, epsilon),
            "spatial_accuracy": model.linear_spatial_accuracy(w0, w, b), "evaluated": "exactly"}  # fmt: skip


def _monte_carlo_point(model: CyclicCodeModel, net: torch.nn.Module, epsilon: float, settings: dict,
                       seed: int) -> dict:  # fmt: skip
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    x_np, y_np = model.sample(settings["test_samples"], rng)
    x, y = torch.as_tensor(x_np, dtype=torch.float32), torch.as_tensor(y_np, dtype=torch.float32)
    with torch.no_grad():
        clean = (_margin(net, x, y) > 0).numpy()
        shifted = np.mean([(_margin(net, cyclic_shift(x, s), y) > 0).numpy() for s in model.shifts()], axis=0)
    adversarial = (_margin(net, pgd_linf(net, x, y, epsilon, settings["eval_pgd_steps"], gen), y) > 0).detach().numpy()
    (acc, acc_se), (spatial, spatial_se), (adv, adv_se) = map(proportion, (clean, shifted, adversarial))
    return {"accuracy": acc, "adversarial_accuracy": adv, "spatial_accuracy": spatial, "accuracy_se": acc_se,
            "adversarial_accuracy_se": adv_se, "spatial_accuracy_se": spatial_se,
            "evaluated": f"Monte Carlo ({len(y)} samples), PGD-{settings['eval_pgd_steps']}"}  # fmt: skip


def monte_carlo_proposition1(model: CyclicCodeModel, n: int, seed: int) -> dict:
    """Proposition 1's accuracies estimated on ``n`` fresh samples: (mean, standard error) each."""
    rng = np.random.default_rng(seed)
    x, y = model.sample(n, rng)
    w0, w, _ = model.bayes_weights()
    def correct(xs):  # noqa: E306
        return (y * (w0 * xs[:, 0] + xs[:, 1:] @ w)) > 0
    shifts = model.shifts()[:-1]  # not the identity
    cross = [proportion(correct(cyclic_shift(x, s))) for s in shifts]
    x2, y2 = model.sample(n, rng)  # f* ∘ r_j⁻¹ on r_j(X) is f* on X, pointwise: a second sample estimates it
    shifted = cyclic_shift(x2, shifts[0])
    transformed = proportion((y2 * (w0 * shifted[:, 0] + shifted[:, 1:] @ np.roll(w, -shifts[0]))) > 0)
    return {"bayes_accuracy": proportion(correct(x)), "bayes_transformed_accuracy": transformed,
            "bayes_cross_accuracy": max(cross)}  # fmt: skip


def simulate(settings: dict, log: Callable[[str], None] = print) -> dict:
    """Everything ``figures/p001_theorem2`` and the theory claims read, as one evaluation file's content."""
    t0 = time.perf_counter()
    model, seed = model_of(settings), settings.get("seed", 0)
    epsilon = theorem2_epsilon(model.d)
    exact = model.proposition1()
    mc = monte_carlo_proposition1(model, settings["test_samples"], seed + 1)
    points = []
    w0, w, b = model.bayes_weights()
    points.append({"classifier": "best classifier f*", "model": "bayes", "training": "none", "epsilon": None,
                   **_linear_point(model, w0, w, b, epsilon)})  # fmt: skip
    points.append({"classifier": "sign(x₀)", "model": "x0", "training": "none", "epsilon": None,
                   **_linear_point(model, 1.0, np.zeros(model.d), 0.0, epsilon)})  # fmt: skip
    for kind in settings["classifiers"]:
        for training in TRAININGS:
            for eps in (settings["adversarial_epsilons"] if training == "adversarial" else [None]):
                net = train_classifier(model, kind, training, eps or 0.0, settings, seed)
                if kind == "linear":
                    weight = net.weight.detach().double().numpy()[0]
                    point = _linear_point(model, weight[0], weight[1:], float(net.bias.detach()), epsilon)
                else:
                    point = _monte_carlo_point(model, net, epsilon, settings, seed + 2)
                label = f"{kind}, {training}" + (f" ε={eps:g}" if eps else "")
                points.append({"classifier": label, "model": kind, "training": training, "epsilon": eps, **point})
                log(f"{label}: accuracy {point['accuracy']:.4f}, adversarial {point['adversarial_accuracy']:.4f}, "
                    f"spatial {point['spatial_accuracy']:.4f} ({point['evaluated']})")  # fmt: skip
    p = model.p
    for point in points:
        point["theorem2_bound"] = float(theorem2_bound(point["adversarial_accuracy"], p))
    slack = min(pt["theorem2_bound"] - pt["spatial_accuracy"] for pt in points)
    results = {
        "code_length": model.d, "shift_unit": model.m, "transformations": model.K, "p": p,
        "code_relative_distance": relative_distance(model.c),
        "shift_relative_distance": relative_distance(model.c, model.m),
        "theorem2_epsilon": epsilon, **{k: v for k, v in exact.items()},
        "monte_carlo": {k: {"mean": m, "se": se} for k, (m, se) in mc.items()},
        "classifiers": points, "theorem2_slack": slack,
    }  # fmt: skip
    log(f"Proposition 1 (exact): {exact['bayes_accuracy']:.4f} on X, {exact['bayes_cross_accuracy']:.4f} on r_j(X); "
        f"Theorem 2: min bound − spatial accuracy {slack:+.4f} over {len(points)} classifiers")  # fmt: skip
    return {"evaluation": "theorem2", "settings": settings, "results": results, "seconds": time.perf_counter() - t0}
