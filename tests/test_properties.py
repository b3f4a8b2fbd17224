"""Property-based tests (hypothesis) for service-name normalisation and URL handling."""

from __future__ import annotations

import re
import string

from hypothesis import example, given, settings
from hypothesis import strategies as st

from scanner.naming import MAX_LEN, check_service_name, instance_from_url, service_name, slug
from scanner.urls import host_port, normalize_base_url

VALID_NAME = re.compile(r"^[a-z0-9_]+$")

labels = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=12)
hostnames = st.lists(labels, min_size=1, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
segments = st.lists(st.text(alphabet=string.ascii_letters + string.digits + "-_.~", min_size=1, max_size=8),
                    max_size=3)


@st.composite
def urls(draw) -> tuple[str, str, str, int | None, list[str]]:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    host = draw(st.one_of(hostnames, ipv4))
    port = draw(st.one_of(st.none(), st.integers(1, 65535)))
    path = draw(segments)
    slashes = draw(st.sampled_from(["/", "//", "///"]))
    trailing = draw(st.sampled_from(["", "/", "//"]))
    text = f"{scheme}://{host}" + (f":{port}" if port is not None else "")
    text += "".join(slashes + p for p in path) + trailing
    return text, scheme.lower(), host.lower(), port, path


@given(st.text(max_size=300))
@example("Finance / EMEA (prod)")
@example("___")
def test_slug_is_clean_and_idempotent(text):
    result = slug(text)
    assert result == "" or VALID_NAME.match(result)
    assert not result.startswith("_") and not result.endswith("_") and "__" not in result
    assert slug(result) == result


@given(st.text(min_size=1, max_size=40).filter(lambda t: slug(t)), st.text(max_size=600))
@example("superset", "x" * 600)
@example("tableau", "::a.b::")
def test_service_names_are_always_valid(platform, instance):
    name = service_name(platform, instance)
    assert len(name) <= MAX_LEN
    if name:
        assert check_service_name(name) is None
        assert "::" not in name and "." not in name


@given(st.text(max_size=400))
@example("a::b")
@example("x" * 300)
def test_check_service_name_accepts_exactly_the_valid_ones(name):
    problem = check_service_name(name)
    valid = bool(name) and len(name) <= MAX_LEN and VALID_NAME.match(name) is not None
    assert (problem is None) == valid
    if problem is not None:
        assert "\n" not in problem


@given(urls())
@settings(max_examples=300)
def test_normalized_urls_are_canonical_and_stable(case):
    text, scheme, host, port, path = case
    url = normalize_base_url(text)
    assert normalize_base_url(url) == url  # idempotent
    assert url.startswith(f"{scheme}://{host}")
    assert not url.endswith("/") and "//" not in url.split("://", 1)[1]
    default = 443 if scheme == "https" else 80
    assert host_port(url) == (host, port or default)
    assert (f":{port}" in url) == (port is not None and port != default)
    if path:
        assert url.endswith("/" + "/".join(path))


@given(st.text(max_size=200))
@example("https://user:pw@example.com")
@example("http://[::1]:8080/x")
@example("https://exa mple.com")
@example("http://example.com:0")
def test_normalize_never_fails_other_than_value_error(text):
    try:
        url = normalize_base_url(text)
    except ValueError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert url.startswith(("http://", "https://"))
    assert "@" not in url.split("://", 1)[1].split("/", 1)[0]  # no credentials survive in the authority
    assert normalize_base_url(url) == url


@given(urls())
def test_instance_from_url_is_a_valid_name_part(case):
    instance = instance_from_url(normalize_base_url(case[0]))
    assert VALID_NAME.match(instance)
    assert check_service_name(service_name("superset", instance)) is None
