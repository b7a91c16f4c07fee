"""winfra facts: pyinfra 3 FactBase classes for Windows hosts (read over WinRM)."""
