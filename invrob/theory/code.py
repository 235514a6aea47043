"""Paper 001 §3, simulated: the cyclic-code distribution, Proposition 1 and Theorem 2.

The distribution (paper 001 §3): a generator codeword c ∈ {−1, 1}^d of a binary cyclic code; Y = ±1
with probability 1/2; X₀ = Y with probability p, −Y otherwise; X_t | Y = y ~ N(2 c_t y / √d, 1) for
t = 1 … d.  The spatial transformation r_j shifts x₁ … x_d cyclically by m·j places and keeps x₀;
the random r takes j uniformly in {1, …, d/m} (j = d/m is the identity).

The code here is the simplex code: its nonzero codewords are the 2^k − 1 cyclic shifts of one
m-sequence (a maximal-length LFSR sequence), every nonzero shift of which agrees with c in exactly
2^(k−1) − 1 places, so its relative distance is 2^(k−1) / (2^k − 1) ≈ 1/2 ≥ 3/8.

Exact accuracies (Φ the standard normal CDF, L = ln(p / (1 − p)), ρ_j = c · r_j(c) / d):
  the best classifier for X, f*(x) = sign(L x₀ + (4/√d) Σ c_t x_t), has accuracy
  p Φ(2 + L/4) + (1 − p) Φ(2 − L/4) on X, and so has f* ∘ r_j⁻¹ on r_j(X); f* applied to r_j(X) has
  p Φ(2ρ_j + L/4) + (1 − p) Φ(2ρ_j − L/4).
A linear classifier sign(w₀x₀ + w·x + b) has exact ℓ∞ adversarial accuracy at radius ε
  ½ Σ_y [p Φ((w₀ + a + yb − ε‖(w₀, w)‖₁)/‖w‖₂) + (1 − p) Φ((−w₀ + a + yb − ε‖(w₀, w)‖₁)/‖w‖₂)],
a = w · 2c/√d (a_j = w · 2r_j(c)/√d on r_j(X), ε = 0 for the plain accuracy).

Theorem 2's bound: spatial accuracy ≤ p/(1 − p) · (1 − adversarial accuracy), the ℓ∞ adversary
having radius 4/√d (the perturbation −(2y/√d)(c + r_j(c)) moves X to r_j(X) of the other class
up to the density ratio p/(1 − p) of x₀; paper 001's proof is in its supplementary, which we do not
have, so the radius is this reading of it).  Its converse is the same inequality solved for the
adversarial accuracy.
"""

from __future__ import annotations

import math

import numpy as np
import torch

# primitive polynomials x^k + Σ x^t for the m-sequence of length 2^k − 1 (LFSR taps t)
PRIMITIVE_TAPS = {4: (0, 1), 5: (0, 2), 6: (0, 1), 7: (0, 1), 8: (0, 2, 3, 4), 9: (0, 4), 10: (0, 3)}


def phi(z) -> np.ndarray:
    """The standard normal CDF."""
    z = np.asarray(z, dtype=float)
    return 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))


def m_sequence(k: int) -> np.ndarray:
    """The ±1 m-sequence of length 2^k − 1: s_{n+k} = Σ_t s_{n+t} (mod 2) from s = 1, 0, …, 0; c = 1 − 2s."""
    if k not in PRIMITIVE_TAPS:
        raise ValueError(f"no primitive polynomial of degree {k} here; choose k in {sorted(PRIMITIVE_TAPS)}")
    taps, s = PRIMITIVE_TAPS[k], [1] + [0] * (k - 1)
    while len(s) < 2**k - 1:
        n = len(s) - k
        s.append(sum(s[n + t] for t in taps) % 2)
    return 1 - 2 * np.array(s, dtype=np.int64)


def cyclic_shift(x, shift: int):
    """r(x): the coordinates x₁ … x_d shifted cyclically by ``shift`` places (x₀ kept), for rows of
    an array or tensor (…, d + 1): r(x)_t = x_{t + shift}."""
    if isinstance(x, torch.Tensor):
        return torch.cat([x[..., :1], torch.roll(x[..., 1:], -shift, dims=-1)], dim=-1)
    return np.concatenate([x[..., :1], np.roll(x[..., 1:], -shift, axis=-1)], axis=-1)


def relative_distance(c: np.ndarray, step: int = 1) -> float:
    """min over the distinct shifts by multiples of ``step`` of the fraction of places where they differ from c."""
    d = len(c)
    distances = [np.sum(c != np.roll(c, -k)) / d for k in range(step, d, step)]
    return float(min(distances)) if distances else 1.0


class CyclicCodeModel:
    """The distribution of paper 001 §3 for codeword ``c``, shift unit ``m`` (d/m transformations) and ``p``."""

    def __init__(self, c: np.ndarray, m: int, p: float):
        self.c, self.d, self.m, self.p = np.asarray(c, dtype=float), len(c), int(m), float(p)
        if self.d % self.m:
            raise ValueError(f"the shift unit m = {m} must divide the code length d = {self.d}")
        if not 0.5 <= self.p < 1:
            raise ValueError(f"p = {p} must be in [1/2, 1)")
        self.K = self.d // self.m  # the transformations r_1 … r_K; r_K is the identity

    @property
    def log_odds(self) -> float:
        return math.log(self.p / (1 - self.p))

    def shifts(self) -> list[int]:
        return [self.m * j for j in range(1, self.K + 1)]

    def rho(self, j: int) -> float:
        return float(self.c @ np.roll(self.c, -self.m * j)) / self.d

    def sample(self, n: int, generator: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        y = generator.choice([-1.0, 1.0], size=n)
        x0 = np.where(generator.random(n) < self.p, y, -y)
        xs = 2 * self.c[None, :] * y[:, None] / math.sqrt(self.d) + generator.standard_normal((n, self.d))
        return np.concatenate([x0[:, None], xs], axis=1), y

    def random_shift(self, x: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        """r(x): each row shifted by m·j, j uniform in {1, …, K}."""
        js = generator.integers(1, self.K + 1, size=len(x))
        out = np.empty_like(x)
        for j in range(1, self.K + 1):
            out[js == j] = cyclic_shift(x[js == j], self.m * j)
        return out

    # ----------------------------------------------------------------- Proposition 1, exactly

    def bayes_weights(self) -> tuple[float, np.ndarray, float]:
        """(w₀, w, b) of the best classifier for X: the log-likelihood ratio L x₀ + (4/√d) c·x."""
        return self.log_odds, 4 * self.c / math.sqrt(self.d), 0.0

    def proposition1(self) -> dict:
        """The three accuracies of Proposition 1 (exact): f* on X, f* ∘ r_j⁻¹ on r_j(X) (the same
        number), and f* on r_j(X) for every j that is not the identity (their maximum is the claim's)."""
        L = self.log_odds
        bayes = float(self.p * phi(2 + L / 4) + (1 - self.p) * phi(2 - L / 4))
        cross = [float(self.p * phi(2 * self.rho(j) + L / 4) + (1 - self.p) * phi(2 * self.rho(j) - L / 4))
                 for j in range(1, self.K)]  # fmt: skip
        return {"bayes_accuracy": bayes, "bayes_transformed_accuracy": bayes, "bayes_cross_accuracy": max(cross),
                "cross_accuracy_per_shift": cross}  # fmt: skip

    # ----------------------------------------------------------------- linear classifiers, exactly

    def linear_accuracy(self, w0: float, w: np.ndarray, b: float, epsilon: float = 0.0, shift: int = 0) -> float:
        """Exact accuracy of sign(w₀x₀ + w·x + b) on r(X) for the shift by ``shift`` places (0: X itself)
        under the worst ℓ∞ perturbation of radius ``epsilon`` of all d + 1 coordinates."""
        w = np.asarray(w, dtype=float)
        sigma = float(np.linalg.norm(w))
        a = float(w @ (2 * np.roll(self.c, -shift) / math.sqrt(self.d)))  # w · E[r(X)₁…d | Y = 1]
        budget = epsilon * (abs(w0) + float(np.abs(w).sum()))  # the margin an ℓ∞ adversary removes
        total = 0.0
        for y in (1.0, -1.0):
            for sign, prob in ((1.0, self.p), (-1.0, 1 - self.p)):
                margin = sign * w0 + a + y * b - budget
                total += 0.5 * prob * (float(phi(margin / sigma)) if sigma > 0 else float(margin > 0))
        return total

    def linear_spatial_accuracy(self, w0: float, w: np.ndarray, b: float) -> float:
        """Exact accuracy on r(X): the mean over the K shifts (the identity included)."""
        return sum(self.linear_accuracy(w0, w, b, 0.0, s) for s in self.shifts()) / self.K


def theorem2_bound(adversarial_accuracy, p: float):
    """Theorem 2: the largest spatial accuracy a classifier of this adversarial accuracy can have."""
    return np.minimum(1.0, p / (1 - p) * (1 - np.asarray(adversarial_accuracy, dtype=float)))


def theorem2_epsilon(d: int) -> float:
    """The ℓ∞ radius of Theorem 2's adversary: 4/√d (twice Tsipras et al.'s 2/√d)."""
    return 4 / math.sqrt(d)


def proportion(hits: np.ndarray) -> tuple[float, float]:
    """(mean, standard error) of a 0/1 sample."""
    hits = np.asarray(hits, dtype=float)
    mean = float(hits.mean())
    return mean, math.sqrt(max(mean * (1 - mean), 1e-12) / len(hits))
