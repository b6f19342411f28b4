"""partnerkpi: the application (CLI, config, pipeline, state store, reports, sandbox)."""

__version__ = "0.1.0"
