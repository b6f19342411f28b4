"""What more than one HubSpot unit test file uses: a host no request reaches, and a ticker whose time
moves only when someone sleeps."""

from __future__ import annotations

HOST = "https://api.example-hubspot.test"


class FakeTicker:
    """Monotonic time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
