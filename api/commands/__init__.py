"""The ``crmkpi`` sub-commands, one module per noun, registered in :mod:`api.cli`."""
