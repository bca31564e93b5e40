"""The shared request loop: Retry-After, backoff, scrubbing and odd answers."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from pp2eb.apis import eboekhouden, http, plugandpay
from pp2eb.apis.http import HttpClient

BASE = "https://api.test/v1"


@pytest.fixture
def waits() -> list[float]:
    return []


def make(waits, family=eboekhouden.FAMILY, **kwargs) -> HttpClient:
    options = {"timeout": 5.0, "max_attempts": 3, "sleep": waits.append, "user_agent": "t/1"}
    return HttpClient(BASE, family, **{**options, **kwargs})


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, 1.0),
        ("", 1.0),
        ("4", 4.0),
        ("2.5", 2.5),
        ("-3", 0.0),
        ("9000", 120.0),
        ("soon", 1.0),
        ("nan", 1.0),
    ],
)
def test_retry_after_seconds(header, seconds):
    assert http.retry_after_seconds(header) == seconds


def test_retry_after_as_http_date():
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    earlier = format_datetime(datetime.now(UTC) - timedelta(seconds=30), usegmt=True)

    assert 25 <= http.retry_after_seconds(later) <= 30
    assert http.retry_after_seconds(earlier) == 0.0


def test_backoff_doubles_up_to_the_cap():
    assert [http.backoff_seconds(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_scrub_replaces_every_secret():
    assert http.scrub("a s3cret b tok", ["s3cret", None, "tok"]) == "a *** b ***"
    assert http.scrub(None, ["x"]) is None


@pytest.mark.parametrize(
    ("exc", "never_sent"),
    [
        (requests.exceptions.ConnectTimeout(), True),
        (
            requests.ConnectionError(MaxRetryError(None, "/", NewConnectionError(None, "refused"))),
            True,
        ),
        (requests.ConnectionError(ProtocolError("Connection aborted.")), False),
        (requests.exceptions.ReadTimeout(), False),
        (requests.ConnectionError(), False),
    ],
)
def test_never_sent(exc, never_sent):
    assert http._never_sent(exc) is never_sent


def test_retry_safe_write_is_retried_on_5xx(requests_mock, waits):
    requests_mock.post(f"{BASE}/session", [{"status_code": 503}, {"json": {"ok": True}}])

    assert make(waits).request("POST", "/session", body={}, retry_safe=True) == {"ok": True}
    assert waits == [0.5]


def test_empty_answer_is_none(requests_mock, waits):
    requests_mock.delete(f"{BASE}/session", status_code=204)
    assert make(waits).request("DELETE", "/session") is None


def test_an_answer_that_is_not_json_is_an_error_of_the_family(requests_mock, waits):
    requests_mock.get(f"{BASE}/orders", text="<html>login</html>")

    with pytest.raises(plugandpay.PlugAndPayError) as info:
        make(waits, plugandpay.FAMILY).request("GET", "/orders")

    assert "not JSON" in str(info.value) and info.value.status == 200


def test_an_error_without_a_json_body_uses_the_reason(requests_mock, waits):
    requests_mock.get(f"{BASE}/x", status_code=418, reason="I'm a teapot", text="<b>no</b>")

    with pytest.raises(eboekhouden.Rejected) as info:
        make(waits).request("GET", "/x")

    assert info.value.detail == "I'm a teapot" and info.value.code is None


def test_a_broken_error_reader_does_not_hide_the_status(requests_mock, waits):
    def broken(response):
        raise KeyError("boom")

    family = dataclasses.replace(eboekhouden.FAMILY, read_body=broken)
    requests_mock.get(f"{BASE}/x", status_code=404, reason="Not Found")

    with pytest.raises(eboekhouden.NotFound) as info:
        make(waits, family).request("GET", "/x")

    assert info.value.status == 404


def test_the_timeout_is_sent_on_every_call(requests_mock, waits):
    requests_mock.get(f"{BASE}/x", json={})
    make(waits).request("GET", "/x")
    assert requests_mock.last_request.timeout == 5.0


def test_max_attempts_must_be_positive(waits):
    with pytest.raises(ValueError):
        make(waits, max_attempts=0)


def test_user_agent_carries_the_package_version():
    import pp2eb

    assert http.package_version() == pp2eb.__version__
