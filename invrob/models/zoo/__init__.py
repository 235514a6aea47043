"""The architectures, one module per family; see ``invrob.models``."""
