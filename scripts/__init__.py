"""The ``lifecircle`` command line: thin wrappers that parse options and call the API; the only
place that configures logging.

Modules
-------
arguments
    The options shared by every command, and the run options they make.
cli
    ``lifecircle run`` and the entry point (:func:`~lifecircle.scripts.cli.main`).
suggest
    ``lifecircle suggest``: new facility sites for one category.
"""
