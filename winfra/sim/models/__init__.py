"""Host state of the simulator (moto's "models").

* :mod:`.host`: :class:`~winfra.sim.models.host.SimHost` and its sections (OS, hardware, users,
  features, services, boot, WinRM settings), persistence (``load``/``save``/``reset``), reboot;
* :mod:`.registry`: typed registry with per-user hives and volatile keys;
* :mod:`.filesystem`: case-insensitive Windows paths over volumes, blobs, sparse files, disk full;
* :mod:`.faults`: declarative fault injection (host data ``winsim_faults``);
* :mod:`.profile`: profiles (``winfra/sim/profiles/*.yml``) and ``winsim_overrides``;
* :mod:`.wsl`, :mod:`.docker`: WSL and Docker state (extended by their area owners).
"""
