"""The ``crmkpi`` sub-commands, one module per noun, registered in :mod:`api.cli`.

The command modules do not use ``from __future__ import annotations`` (STYLE.md's rule
has this exception, as core.models has): typer reads every command's signature whenever
``crmkpi`` starts, whichever command runs, and string annotations made it ``eval()`` each
of them (``Annotated[..., typer.Option(...)]``) every time: 15 ms of CPU of each start-up,
``crmkpi sync``'s included (issue #21). Evaluated when the module is imported, they are
compiled once into its bytecode.
"""
