"""Controller-side validators: bad input fails before anything touches a host."""
