"""winfra.sim: simulated Windows hosts that speak WinRM.

Laid out the way moto splits protocol from state:

* ``winfra.sim.protocol`` (the "responses"): the WS-Management/WinRS HTTP endpoint, auth,
  message encryption, SOAP faults, keep-alive.
* ``winfra.sim.models`` (the "models"): the host state our scripts change, its profiles,
  persistence, fault injection and counters.
* ``winfra.sim.shell``: what runs inside a WinRS shell: ``powershell.exe -EncodedCommand``
  decoding, the stdin bootstrap, dispatch to script counterparts, and the read-only
  command interpreter.
* ``winfra.sim.scripts``: one module per shipped ``winfra/scripts/<name>.ps1``, implementing
  that script's JSON contract against the model.

Every behaviour follows a sourced fact (``shared/reference/*.md`` or a cited public source).
"""
