"""Paper 001 §3 simulated: the code, the exact accuracies against hand values and Monte Carlo, Theorem 2."""

import math

import numpy as np
import pytest
import torch

from invrob.theory.code import (
    CyclicCodeModel,
    cyclic_shift,
    m_sequence,
    phi,
    proportion,
    relative_distance,
    theorem2_bound,
    theorem2_epsilon,
)
from invrob.theory.simulation import _worst_case_linear, model_of, monte_carlo_proposition1, pgd_linf, simulate

PHI_2 = 0.9772498680518208  # Φ(2), from tables


@pytest.mark.parametrize("k", [4, 5, 6, 7, 8, 9, 10])
def test_the_m_sequence_generates_a_simplex_code_of_relative_distance_about_one_half(k):
    c = m_sequence(k)
    d = 2**k - 1
    assert len(c) == d and set(c.tolist()) == {-1, 1}
    autocorrelation = {int(c @ np.roll(c, -s)) for s in range(1, d)}
    assert autocorrelation == {-1}  # every nonzero shift agrees in 2^(k-1) − 1 places
    assert relative_distance(c) == pytest.approx(2 ** (k - 1) / d) and relative_distance(c) >= 3 / 8
    assert len({tuple(np.roll(c, s)) for s in range(d)}) == d  # d distinct codewords


def test_relative_distance_and_shifts_by_hand():
    c = np.array([1, 1, -1, -1])
    assert relative_distance(c) == 0.5  # shifts by 1, 2, 3 differ in 2, 4, 2 places
    assert relative_distance(c, step=2) == 1.0
    x = np.array([[9, 1, 2, 3, 4]])
    assert cyclic_shift(x, 1).tolist() == [[9, 2, 3, 4, 1]]  # x0 kept, r(x)_t = x_{t+1}
    assert torch.equal(cyclic_shift(torch.tensor(x), 3), torch.tensor(cyclic_shift(x, 3)))
    assert cyclic_shift(x, 4).tolist() == x.tolist()  # a shift by d is the identity


def test_theorem2_bound_by_hand():
    assert theorem2_bound(0.9, 0.7) == pytest.approx(0.7 / 0.3 * 0.1)  # η = 0.1: spatial ≤ ηp/(1−p) = 0.2333
    assert theorem2_bound(0.5, 0.7) == 1.0  # capped: no constraint below 1 − (1−p)/p
    assert theorem2_bound(0.7, 0.7) == pytest.approx(0.7)  # sign(x0) sits on the bound
    assert theorem2_bound(0.8, 0.5) == pytest.approx(0.2)
    # the converse is the same inequality: spatial ≥ 1 − η ⇒ adversarial ≤ 1 − (1−p)(1−η)/p
    p, spatial = 0.7, 0.6
    adv_max = 1 - (1 - p) * spatial / p
    assert theorem2_bound(adv_max, p) == pytest.approx(spatial)
    assert theorem2_epsilon(256) == 0.25


def test_proposition1_exact_values_by_hand():
    model = CyclicCodeModel(m_sequence(4), 5, 0.5)  # d = 15, K = 3, p = 1/2: L = 0
    out = model.proposition1()
    assert out["bayes_accuracy"] == pytest.approx(PHI_2) == out["bayes_transformed_accuracy"]
    assert out["bayes_cross_accuracy"] == pytest.approx(float(phi(-2 / 15)))  # Φ(2ρ), ρ = −1/15
    assert len(out["cross_accuracy_per_shift"]) == 2  # r_3 is the identity, left out
    assert float(phi(0.0)) == 0.5 and float(phi(1.0)) == pytest.approx(0.8413447460685429)


def test_monte_carlo_agrees_with_the_exact_accuracies():
    model = model_of({"code_degree": 8, "shift_unit": 85, "p": 0.7})
    exact = model.proposition1()
    mc = monte_carlo_proposition1(model, 40000, seed=3)
    for key, (mean, se) in mc.items():
        assert abs(mean - exact[key]) < 4 * se, key
    assert exact["bayes_accuracy"] > 0.97 and exact["bayes_cross_accuracy"] < 0.85


def test_exact_linear_accuracy_matches_sampling_and_pgd_finds_the_worst_case():
    model = model_of({"code_degree": 6, "shift_unit": 21, "p": 0.7})  # d = 63, 3 shifts
    rng = np.random.default_rng(0)
    w0, w, b = 0.4, rng.normal(size=model.d) + 2 * model.c / math.sqrt(model.d), 0.1
    eps = theorem2_epsilon(model.d)
    x, y = model.sample(60000, rng)
    net = torch.nn.Linear(model.d + 1, 1).double()
    with torch.no_grad():
        net.weight.copy_(torch.tensor(np.r_[w0, w])[None])
        net.bias.fill_(b)
    xt, yt = torch.tensor(x), torch.tensor(y)
    worst = _worst_case_linear(net, xt, yt, eps)
    pgd = pgd_linf(net, xt, yt, eps, 10, torch.Generator().manual_seed(0))
    with torch.no_grad():
        margins = {name: (yt * net(v).squeeze(-1)).numpy() for name, v in (("clean", xt), ("worst", worst), ("pgd", pgd))}
    assert np.allclose(margins["pgd"], margins["worst"], atol=1e-5)  # sign steps reach the corner of the box
    for name, epsilon in (("clean", 0.0), ("worst", eps)):
        mean, se = proportion(margins[name] > 0)
        assert abs(mean - model.linear_accuracy(w0, w, b, epsilon)) < 4 * se
    shifted = np.mean([(y * (w0 * cyclic_shift(x, s)[:, 0] + cyclic_shift(x, s)[:, 1:] @ w + b)) > 0
                       for s in model.shifts()], axis=0)  # fmt: skip
    mean, se = proportion(shifted)
    assert abs(mean - model.linear_spatial_accuracy(w0, w, b)) < 4 * se


def test_theorem2_holds_for_random_linear_classifiers_exactly():
    model = model_of({"code_degree": 6, "shift_unit": 21, "p": 0.7})
    rng, eps = np.random.default_rng(1), theorem2_epsilon(model.d)
    for _ in range(200):
        w0, w, b = rng.normal() * 3, rng.normal(size=model.d) * rng.choice([0.01, 0.1, 1]), rng.normal()
        w += rng.normal() * model.c  # some close to the best classifier
        adv = model.linear_accuracy(w0, w, b, eps)
        assert model.linear_spatial_accuracy(w0, w, b) <= theorem2_bound(adv, model.p) + 1e-12
        assert adv <= model.p + 1e-12  # the bound at the identity shift


def test_simulation_trains_every_classifier_and_reports_theorem2():
    settings = {"code_degree": 6, "shift_unit": 21, "p": 0.7, "train_samples": 2000, "test_samples": 4000, "epochs": 4,
                "lr": 0.02, "hidden": 16, "pgd_steps": 3, "eval_pgd_steps": 5, "adversarial_epsilons": [0.1, 0.5],
                "classifiers": ["linear", "mlp"], "seed": 0}  # fmt: skip
    out = simulate(settings, log=lambda _: None)
    r = out["results"]
    assert out["evaluation"] == "theorem2" and r["code_length"] == 63 and r["transformations"] == 3
    names = [pt["classifier"] for pt in r["classifiers"]]
    assert len(names) == 2 + 2 * 4 and "linear, adversarial ε=0.5" in names and "mlp, shift" in names
    by = {pt["classifier"]: pt for pt in r["classifiers"]}
    assert by["sign(x₀)"]["adversarial_accuracy"] == pytest.approx(0.7) == by["sign(x₀)"]["spatial_accuracy"]
    assert by["linear, natural"]["accuracy"] > 0.9  # learned: the best possible is 0.98
    assert by["linear, shift"]["spatial_accuracy"] > by["linear, natural"]["spatial_accuracy"]  # shift training helps
    assert by["linear, adversarial ε=0.5"]["adversarial_accuracy"] > by["linear, natural"]["adversarial_accuracy"]
    assert r["theorem2_slack"] >= -1e-12 or r["theorem2_slack"] > -0.03  # exact for linear; MLPs by sampling
    assert all(pt["spatial_accuracy"] <= pt["theorem2_bound"] + 1e-12 for pt in r["classifiers"] if pt["model"] != "mlp")
