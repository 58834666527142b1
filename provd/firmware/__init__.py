"""Firmware files: the content-addressed store on disk (the catalogue and pins are in
:mod:`provd.services.firmware`, the resolution rules in :mod:`provd.domain.firmware`)."""
