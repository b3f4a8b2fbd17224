"""The network environment, read once: proxies (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY) and what
``verify=True`` trusts. scanner's own client (`scanner.http`), the SDK session (`scanner.sdk_http`) and the
catalog client all ask here, so the three behave alike.

Proxies: the TOML's ``[network] proxy`` (and ``no_proxy``) when set, which replaces the environment; else
the variables curl and requests read (lower case wins over upper case, as in urllib). ``NO_PROXY``
lists hosts, domain suffixes (``.corp`` or ``corp``), ``host:port``, CIDR ranges (``127.0.0.0/8``) or ``*``.
An https target goes through the proxy in a CONNECT tunnel: the proxy sees the host name, never what is
inside TLS. A plain-http target through a proxy would hand the proxy every credential in clear text, so
requests carrying credentials are refused that way (`cleartext_refusal`): use https://, or list the host in
``NO_PROXY``. ``.netrc`` is never read.

Trust (`trust_context`), for a target or catalog that verifies TLS without its own ``*_CA_BUNDLE``:
``REQUESTS_CA_BUNDLE`` or else ``SSL_CERT_FILE`` names the only CA file trusted (as requests and curl do:
a corporate bundle replaces the public one, it is not added to it); without either, certifi's CAs plus the
operating system's store (OpenSSL's default paths, ``SSL_CERT_DIR`` included; Windows' system store).
A target's own ``*_CA_BUNDLE`` still wins for that target.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import ssl
import threading
import urllib.request
from urllib.parse import unquote, urlsplit

from requests.adapters import HTTPAdapter

from scanner.errors import ScannerError
from scanner.urls import display_url

CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


class TrustError(ScannerError):
    """The CA file an environment variable names cannot be read."""


# -- proxies -----------------------------------------------------------------------------------------------


_configured: dict[str, str] | None = None  # from the TOML's [network], when it sets a proxy


@functools.cache
def _from_environment() -> dict[str, str]:
    return {k: v.strip() for k, v in urllib.request.getproxies_environment().items() if v and v.strip()}


def _proxy_env() -> dict[str, str]:
    """scheme -> proxy URL, plus "no" -> NO_PROXY: the TOML's ``[network]`` when it sets a proxy, else the
    environment (read once)."""
    return _configured if _configured is not None else _from_environment()


def configure(proxy: str | None, no_proxy: list[str] | None = None) -> None:
    """Use `proxy` for every request (http and https), except the hosts in `no_proxy`: the TOML's ``[network]``,
    which replaces the proxy environment variables. ``proxy=None``: back to the environment."""
    global _configured
    if proxy is None:
        _configured = None
        return
    _configured = {"http": proxy, "https": proxy}
    if no_proxy:
        _configured["no"] = ",".join(no_proxy)


def reset() -> None:
    """Forget what was read from the environment and configured (for tests that change it in-process)."""
    global _configured, _trust
    _configured = None
    _from_environment.cache_clear()
    _trust = None
    _env_ca_bundle.cache_clear()


def proxy_for(url: str) -> str | None:
    """The proxy URL a request to `url` goes through, or None (no proxy set, or NO_PROXY covers the host)."""
    env = _proxy_env()
    parts = urlsplit(url)
    scheme = (parts.scheme or "http").lower()
    proxy = env.get(scheme) or env.get("all")
    if not proxy or _bypassed(parts, env.get("no", "")):
        return None
    return proxy if "://" in proxy else "http://" + proxy


def requests_proxies(url: str) -> dict[str, str]:
    """`proxy_for` in the shape requests' ``proxies=`` takes."""
    proxy = proxy_for(url)
    return {(urlsplit(url).scheme or "http").lower(): proxy} if proxy else {}


def _bypassed(parts, no_proxy: str) -> bool:
    if not no_proxy:
        return False
    host = (parts.hostname or "").lower()
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    entries = [e.strip() for e in no_proxy.replace(" ", ",").split(",") if e.strip()]
    if "*" in entries:
        return True
    if address is not None:  # an address, or a CIDR range, given in NO_PROXY (an IPv6 one in brackets or not)
        for entry in entries:
            network = cidr(entry)
            if network is not None and address in network:
                return True
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    plain = ",".join(e for e in entries if "/" not in e)
    return bool(plain) and bool(urllib.request.proxy_bypass_environment(netloc, {"no": plain}))


def cidr(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A NO_PROXY entry as an address range (``10.0.0.0/8``, ``::1``, ``[fd00::]/8``, ``[::1]``), or None."""
    entry = entry.strip()
    if entry.startswith("["):
        address, bracket, rest = entry[1:].partition("]")
        entry = address + rest if bracket else entry
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


def via(proxy: str | None) -> str:
    """`` via proxy http://proxy:3128`` for a message (userinfo hidden), or ""."""
    return f" via proxy {display_url(proxy)}" if proxy else ""


def cleartext_refusal(url: str, proxy: str | None) -> str | None:
    """The one-line refusal when credentials for `url` would cross `proxy` in clear text, else None."""
    if not proxy or (urlsplit(url).scheme or "").lower() != "http":
        return None
    parts = urlsplit(url)
    if _configured is not None:
        setting, bypass = "[network] proxy", "[network] no_proxy"
    else:  # the variable that really set it (HTTP_PROXY, or ALL_PROXY when there is none)
        setting, bypass = ("HTTP_PROXY" if _proxy_env().get("http") else "ALL_PROXY"), "NO_PROXY"
    return (f"credentials for http://{parts.netloc.rpartition('@')[2]} not sent: the target is plain http and "
            f"would be reached via proxy {display_url(proxy)} ({setting}), which sees plain http in clear text; "
            f"use https:// for the target, or add its host to {bypass} to connect directly")


def proxy_headers(proxy: str) -> dict[str, str]:
    """Proxy-Authorization for a proxy URL that carries userinfo (as requests does)."""
    parts = urlsplit(proxy)
    if parts.username is None:
        return {}
    import urllib3

    return urllib3.make_headers(proxy_basic_auth=f"{unquote(parts.username)}:{unquote(parts.password or '')}")


# -- trust -------------------------------------------------------------------------------------------------


@functools.cache
def _env_ca_bundle() -> tuple[str, str] | None:
    for name in CA_BUNDLE_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return name, value
    return None


def trust_source() -> str:
    """What ``verify=True`` trusts, for messages: ``REQUESTS_CA_BUNDLE=/x`` or ``certifi and the system store``."""
    named = _env_ca_bundle()
    return f"{named[0]}={named[1]}" if named else "certifi and the system store"


_TRUST_LOCK = threading.Lock()
_trust: ssl.SSLContext | None = None


def trust_context() -> ssl.SSLContext:
    """The SSL context that ``verify=True`` means, built once and shared (read-only) by every connection.

    Built under a lock: at the start of a scan every worker thread asks for it at once, and each would otherwise
    build its own (certifi's bundle and the system store, contending on OpenSSL's locks): at concurrency 64 that
    was 5.7 s of the 7.5 s of CPU and 80 of the 135 MB of a 250-target scan (issue 17).

    Raises `TrustError` when REQUESTS_CA_BUNDLE / SSL_CERT_FILE names something that is not a CA file."""
    global _trust
    context = _trust
    if context is not None:
        return context
    with _TRUST_LOCK:
        if _trust is None:
            _trust = _build_trust_context()
        return _trust


def _build_trust_context() -> ssl.SSLContext:
    from urllib3.util.ssl_ import create_urllib3_context

    context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
    named = _env_ca_bundle()
    if named:
        name, path = named
        try:
            if os.path.isdir(path):
                context.load_verify_locations(capath=path)
            else:
                context.load_verify_locations(cafile=path)
        except (OSError, ssl.SSLError) as exc:
            raise TrustError(f"{name}={path} is not a readable CA bundle ({exc.strerror or exc}); "
                             f"fix or unset {name}") from None
        return context
    import certifi

    context.load_verify_locations(cafile=certifi.where())
    context.load_default_certs(ssl.Purpose.SERVER_AUTH)  # OpenSSL's default paths / Windows' store
    return context


class TrustAdapter(HTTPAdapter):
    """requests' adapter with ``verify=True`` meaning `trust_context` (not certifi alone). A path still means
    that CA bundle only; ``False`` still means no verification."""

    def build_connection_pool_key_attributes(self, request, verify, cert=None):  # type: ignore[override]
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if verify is True and host_params.get("scheme") == "https":
            pool_kwargs["ssl_context"] = trust_context()
        return host_params, pool_kwargs

    def cert_verify(self, conn, url, verify, cert):  # type: ignore[override]
        if verify is True and url.lower().startswith("https"):
            super().cert_verify(conn, url, False, cert)  # the client certificate, no CA file
            conn.cert_reqs = "CERT_REQUIRED"  # verified against the pool's ssl_context
            return
        super().cert_verify(conn, url, verify, cert)
