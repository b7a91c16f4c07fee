"""The PowerShell layer: quoting, script rendering and the command-line wire format."""
