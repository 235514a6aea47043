"""The architectures: one module per family in ``zoo/`` (found by ``invrob.catalog``), layers they share in ``layers``.

Models take pixels in [0, 1]; the first layer normalises with the dataset's mean/std, so attacks
and ε live in pixel units.  Add an architecture by writing a module in ``zoo/`` that declares
``TITLES = {"name": "Title"}`` and defines ``name(in_shape, num_classes, mean, std) -> nn.Module``,
then give it a ``training:`` entry in the config (see README, "How it is built").
"""

from __future__ import annotations

import importlib

from .. import catalog

# checkpoints whose network is not an architecture of the zoo, by their arch: the function that builds the
# network from the checkpoint's plain values.  A job's code fingerprint follows the arch key here as it does
# a zoo architecture's (invrob.fingerprint), so editing invrob.external reruns the evaluations of imported
# models only.
BUILDERS = {"external": "invrob.external:build_from_checkpoint"}


def build_model(arch: str, spec):
    """Instantiate architecture ``arch`` for dataset ``spec`` (a ``DatasetSpec``)."""
    try:
        factory = catalog.implementation(catalog.ARCHITECTURES, arch)
    except catalog.CatalogError as exc:
        raise ValueError(str(exc)) from None
    return factory(spec.shape, spec.num_classes, spec.mean, spec.std)


def build_checkpoint_model(arch: str, spec, ckpt: dict):
    """The network of checkpoint ``ckpt``: architecture ``arch`` of the zoo for dataset ``spec``, or, for an
    arch of ``BUILDERS``, what its builder makes of the checkpoint (an imported model's own network)."""
    if arch in BUILDERS:
        module, name = BUILDERS[arch].split(":")
        return getattr(importlib.import_module(module), name)(ckpt)
    return build_model(arch, spec)
