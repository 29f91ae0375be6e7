"""The ``cenflow`` command line."""
