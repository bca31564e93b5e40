"""The shared error family: what callers can catch, and what a shop owner reads."""

from __future__ import annotations

import pytest

from pp2eb.apis import eboekhouden, plugandpay
from pp2eb.apis import errors as apierrors

KINDS = ["AuthError", "RateLimited", "Unavailable", "Rejected", "NotFound"]


@pytest.mark.parametrize("module", [plugandpay, eboekhouden])
@pytest.mark.parametrize("kind", KINDS)
def test_each_client_error_is_both_its_family_and_the_shared_kind(module, kind):
    cls = getattr(module, kind)
    family = plugandpay.PlugAndPayError if module is plugandpay else eboekhouden.EBoekhoudenError

    error = cls("x", retry_after=2.0) if kind == "RateLimited" else cls("x")

    assert isinstance(error, family)
    assert isinstance(error, getattr(apierrors, kind))
    assert isinstance(error, apierrors.ApiError)
    with pytest.raises(getattr(apierrors, kind)):
        raise error


def test_the_two_families_do_not_overlap():
    assert not issubclass(plugandpay.Unavailable, eboekhouden.EBoekhoudenError)
    assert not issubclass(eboekhouden.Unavailable, plugandpay.PlugAndPayError)


def test_retryable_kinds():
    assert apierrors.Unavailable().retryable and apierrors.RateLimited().retryable
    assert not apierrors.Rejected().retryable and not apierrors.AuthError().retryable


def test_message_names_the_api_status_code_detail_and_advice():
    error = eboekhouden.AuthError("Access token has expired", status=401, code="API_SESSION_004")

    assert str(error) == (
        "e-Boekhouden.nl refused the credentials (401, API_SESSION_004): Access token has "
        "expired. Connect e-Boekhouden.nl again with a new API token "
        "(Beheer > Inrichting > Koppelingen > API)."
    )
    assert (error.api, error.status, error.code) == ("e-Boekhouden.nl", 401, "API_SESSION_004")


def test_message_without_detail():
    assert str(plugandpay.NotFound(status=404)) == "Plug&Pay could not find it (404)."


def test_uncertain_write_tells_to_check_before_retrying():
    certain = plugandpay.Unavailable("no connection")
    uncertain = eboekhouden.Unavailable("no answer within 30 s", write_uncertain=True)

    assert certain.write_uncertain is False
    assert str(certain).endswith("The next run will try again.")
    assert str(uncertain) == (
        "e-Boekhouden.nl could not be reached or did not answer in time: no answer within 30 s. "
        "The change may have been saved anyway: check e-Boekhouden.nl before trying again."
    )


def test_rejected_lists_errors_that_add_to_the_detail():
    error = apierrors.Rejected(
        "Invalid", api="Shop", errors=["Invalid", "name: too long"], property_name="name"
    )

    assert str(error) == "Shop refused the request: Invalid [name: too long]."
    assert error.errors == ["Invalid", "name: too long"] and error.property_name == "name"


def test_advice_can_be_replaced():
    error = apierrors.ApiError("boom", api="X", advice="Call support.")
    assert str(error) == "X answered with an error: boom. Call support."
