"""winfra operations: pyinfra 3 operations for Windows hosts."""
