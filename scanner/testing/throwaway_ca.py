"""A certificate authority made for one process: TLS for the stand-ins of platforms whose clients insist on https
(MSAL for Power BI, pydomo for Domo), for ``scanner demo`` and the fakes' ``python -m`` entry points.

trustme makes the CA and the server certificate (for 127.0.0.1 and localhost); the CA's PEM is written where the
client is told to trust it (``<PREFIX>_CA_BUNDLE``). Nothing is installed in any system trust store.
"""

from __future__ import annotations

import ssl
from pathlib import Path


def server_context(ca_pem: str | Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> ssl.SSLContext:
    """A server-side TLS context with a certificate for `hosts` from a new CA, whose PEM is written to `ca_pem`."""
    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*hosts).configure_cert(context)
    ca.cert_pem.write_to_path(str(ca_pem))
    return context
