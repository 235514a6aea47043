"""Attacks as small classes with one ``perturb(x, y)`` method: ℓ∞ PGD and FGSM (``pgd``, ``fgsm``), ℓ2 PGD,
ℓ2 DeepFool (``deepfool``), TRADES' KL adversary (``trades``) and the worst-case spatial attacks
(``spatial``); ``base.make_attack`` builds a robustness attack by name.

The robustness attacks (the ``robustness-{attack}`` evaluations) are plugins: a module of this
folder that declares ``ATTACKS = {name: {"title": …, "settings": {defaults}, "radii": [settings
in ε units]}}`` and defines ``name(model, eps, settings, generator)`` (see ``invrob.catalog``).
This ``__init__`` holds only names (torch-free: the DAG reads them).

Two backends compute the same thing:

* ``native`` — written here for speed: the gradient is taken with respect to the input only
  (no parameter gradients are computed or accumulated), the whole batch stays on the device,
  and ``eps`` may be a per-image tensor so that several ε of a robustness profile can share
  one batch.
* ``advertorch`` — the papers' reference implementation (``LinfPGDAttack``,
  ``GradientSignAttack``), imported through ``invrob.attacks.advertorch``.

Semantics (advertorch's, which the native engine reproduces step by step): random start
uniform in [−ε, ε] then clipped to the image domain [0, 1]; each step adds ``step_size ·
sign(∇ loss)`` (loss = summed cross-entropy against the true labels), projects onto the ε-ball
and clips to [0, 1]; the last iterate is returned.  With ``generator=None`` the random start
uses the global RNG exactly as advertorch does, so both backends agree for the same seed.

The space of ε (``EPSILON_SPACES``): attacks always perturb [0, 1] pixels and clip to that box,
so adversarial images stay valid images.  A radius or step given in the space *normalised* by the
dataset's per-channel std σ (the z-scored inputs paper 000 attacked) is ``value · σ_c`` pixels in
channel c (``in_pixels``): the ℓ∞ ball of radius ε around z = (x − μ)/σ, intersected with the
image box, is exactly the pixel box of half-width ε·σ_c intersected with [0, 1].  Sign steps are
the same in both spaces (σ > 0), so PGD and FGSM in normalised units are PGD and FGSM in pixels
with per-channel radii and steps; DeepFool measures and minimises the ℓ2 norm of (x′ − x)/σ.
"""

from __future__ import annotations

BACKENDS = ("native", "advertorch")
ADVERTORCH_ATTACKS = ("pgd", "fgsm")  # what backend advertorch runs (invrob.attacks.advertorch)
EPSILON_SPACES = ("pixel", "normalized")

# name: (translation values per axis, rotation values, max |shift| in px, max |angle| in degrees)
GRIDS = {
    "grid775": (5, 31, 3.0, 30.0),
    "grid135": (3, 15, 3.0, 30.0),
    "grid775-10": (5, 31, 3.0, 10.0),
    "rot30": (1, 31, 0.0, 30.0),
    "rot10": (1, 31, 0.0, 10.0),
}


SPATIAL_ATTACKS = (*GRIDS, "worst-of-k", "spgd")  # the spatial-{attack} evaluations (invrob.attacks.spatial)
