"""The ``lifecircle`` command line: thin entry points over :mod:`lifecircle`; the only place that
configures logging."""
