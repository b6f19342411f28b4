"""Shared fixtures. The sandbox fixtures come from partnerkpi.sandbox.testing (registered below)."""
