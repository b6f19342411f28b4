"""partnerkpi: the application (CLI, config, pipeline, state store, reports, sandbox)."""

__all__ = ["__version__"]

__version__ = "0.1.0"
