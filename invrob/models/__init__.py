"""The architectures: one module per family in ``zoo/`` (found by ``invrob.catalog``), layers they share in ``layers``.

Models take pixels in [0, 1]; the first layer normalises with the dataset's mean/std, so attacks
and ε live in pixel units.  Add an architecture by writing a module in ``zoo/`` that declares
``TITLES = {"name": "Title"}`` and defines ``name(in_shape, num_classes, mean, std) -> nn.Module``,
then give it a ``training:`` entry in the config (see README, "How it is built").
"""

from __future__ import annotations

from .. import catalog


def build_model(arch: str, spec):
    """Instantiate architecture ``arch`` for dataset ``spec`` (a ``DatasetSpec``)."""
    try:
        factory = catalog.implementation(catalog.ARCHITECTURES, arch)
    except catalog.CatalogError as exc:
        raise ValueError(str(exc)) from None
    return factory(spec.shape, spec.num_classes, spec.mean, spec.std)
