"""Shared fixtures. The sandbox fixtures come from partnerkpi.sandbox.testing (registered below).

On CI (``CI`` set) hypothesis runs derandomized: the same examples every run, so a red build is always
reproducible; locally it explores new examples each run (and keeps failing ones in .hypothesis/)."""

import os

from hypothesis import settings

pytest_plugins = ["partnerkpi.sandbox.testing"]

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
