"""Loaded at start-up by every conformance client (this folder is first on its PYTHONPATH): it sends the
CRM vendors' host names to the sandbox, as a hosts-file entry plus a port forward would, and nothing else.

The client keeps its own URLs, headers, TLS checks (against the sandbox CA, given by REQUESTS_CA_BUNDLE /
SSL_CERT_FILE, whose certificate carries these names) and logic; only name resolution changes, and the
trust store: ``certifi.where()`` names the sandbox CA, as installing the CA into the store would (requests
reads REQUESTS_CA_BUNDLE only in ``Session.request``; a client calling ``Session.send`` itself, as the
Airbyte CDK does, verifies against certifi's file).

PARTNERKPI_SANDBOX_ADDRESS  ``127.0.0.1:PORT`` of the sandbox
PARTNERKPI_SANDBOX_HOSTS    comma-separated host names; ``*.example.com`` covers every subdomain
PARTNERKPI_SANDBOX_CA       the sandbox CA certificate (PEM)
"""

from __future__ import annotations

import os
import socket

_ADDRESS = os.environ.get("PARTNERKPI_SANDBOX_ADDRESS", "")
_PATTERNS = [
    p.strip().lower() for p in os.environ.get("PARTNERKPI_SANDBOX_HOSTS", "").split(",") if p.strip()
]


def _redirected(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.lower().rstrip(".")
    for pattern in _PATTERNS:
        if pattern.startswith("*."):
            if name.endswith(pattern[1:]):
                return True
        elif name == pattern:
            return True
    return False


if _ADDRESS and _PATTERNS:
    _ip, _, _port = _ADDRESS.rpartition(":")
    _real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # type: ignore[no-untyped-def]
        if _redirected(host):
            return _real_getaddrinfo(_ip, int(_port), socket.AF_INET, type, proto, flags)
        return _real_getaddrinfo(host, port, family, type, proto, flags)

    socket.getaddrinfo = getaddrinfo

_CA = os.environ.get("PARTNERKPI_SANDBOX_CA", "")
if _CA:
    try:
        import certifi
    except ImportError:  # a client without certifi uses SSL_CERT_FILE / REQUESTS_CA_BUNDLE
        certifi = None
    if certifi is not None:
        certifi.where = lambda: _CA


_CA = os.environ.get("REQUESTS_CA_BUNDLE")
if _CA:
    # The CA in the client's default trust store too, as installing it there would: requests reads
    # REQUESTS_CA_BUNDLE only in Session.request, and code that calls Session.send itself (tap-hubspot's
    # request()) verifies against certifi's bundle.
    try:
        import certifi

        certifi.where = lambda: _CA
    except ImportError:
        pass


def _write_peak() -> None:
    """Measurement only: this process's peak RSS (VmHWM, kB) for the benchmark, in PARTNERKPI_PEAK_DIR."""
    directory = os.environ.get("PARTNERKPI_PEAK_DIR")
    if not directory:
        return
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    with open(os.path.join(directory, str(os.getpid())), "w") as out:
                        out.write(line.split()[1])
    except OSError:
        pass


if os.environ.get("PARTNERKPI_PEAK_DIR"):
    import atexit

    atexit.register(_write_peak)
