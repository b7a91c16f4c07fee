"""winfra: a pyinfra 3 toolkit that turns Windows machines into Docker hosts over WinRM."""

__version__ = "0.1.0"
