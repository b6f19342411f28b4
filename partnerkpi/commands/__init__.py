"""What each CLI command does, on a loaded config: one module a command or two, each returning the exit
code. ``partnerkpi.cli`` only parses the arguments and calls in here (lazily, so ``--help`` stays fast)."""
