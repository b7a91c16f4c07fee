"""What runs inside a simulated WinRS shell.

* :mod:`.executor`: :class:`~.executor.HostExecutor` (the endpoint's CommandExecutor for one host:
  cmd.exe built-ins, powershell.exe decoding, the winfra stdin bootstrap, rendered-script
  dispatch) and :func:`~.executor.host_endpoint` (a started endpoint serving a SimHost);
* :mod:`.process`: a simulated process in a worker thread (stdin pipe, bounded output pipe);
* :mod:`.cmdline`: Windows command-line splitting and powershell.exe parameters;
* :mod:`.psoutput`: ConvertTo-Json (PS 5.1), CLIXML error records, console encodings;
* :mod:`.interpreter`: the read-only interpreter for any other PowerShell text.
"""
