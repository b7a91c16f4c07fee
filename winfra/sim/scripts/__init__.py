"""Simulator counterparts: one module per shipped ``winfra/scripts/<name>.ps1``.

See ``winfra/sim/scripting.py`` for the contract. Modules whose name starts with ``_`` are
helpers shared by counterparts, not counterparts themselves.
"""
