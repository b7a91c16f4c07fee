"""Shipped PowerShell scripts (JSON in, JSON out) and their lint gate."""
