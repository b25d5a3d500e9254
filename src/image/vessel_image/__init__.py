"""`vessel image`: bootable disk images built from a distribution's packages."""
