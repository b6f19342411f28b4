"""Shared fixtures. The sandbox fixtures come from partnerkpi.sandbox.testing (registered below)."""

pytest_plugins = ["partnerkpi.sandbox.testing"]
