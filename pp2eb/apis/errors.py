"""The error family both API clients raise, so callers can branch on what to do next.

Each client subclasses these once (``plugandpay.AuthError`` is both a ``PlugAndPayError`` and an
``apierrors.AuthError``), so the engine can catch ``apierrors.Unavailable`` for either API and a
page can catch ``plugandpay.AuthError`` alone. Messages never carry a key, token or header.
"""

from __future__ import annotations

from collections.abc import Iterable


class ApiError(Exception):
    """An API call failed; ``str()`` says what happened in words a shop owner can follow."""

    #: Human name of the API; each client's family sets it.
    api: str = "The API"
    #: What went wrong, in one sentence without the details.
    summary: str = "answered with an error"
    #: What a person should do about it, or "".
    advice: str = ""
    #: True when trying the same call again later may succeed without anyone changing anything.
    retryable: bool = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        api: str | None = None,
        advice: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.code = code
        if api is not None:
            self.api = api
        if advice is not None:
            self.advice = advice

    def __str__(self) -> str:
        head = f"{self.api} {self.summary}"
        tags = [str(part) for part in (self.status, self.code) if part is not None]
        if tags:
            head += f" ({', '.join(tags)})"
        detail = self._detail_text()
        text = f"{head}: {detail}" if detail else head
        if not text.endswith((".", "!", "?")):
            text += "."
        return f"{text} {self.advice}" if self.advice else text

    def _detail_text(self) -> str:
        return self.detail or ""


class AuthError(ApiError):
    """The key or token was refused (401); a person has to reconnect."""

    summary = "refused the credentials"
    advice = "Reconnect the account with a valid key."


class RateLimited(ApiError):
    """Too many requests (429), still so after waiting as asked; try again later."""

    summary = "asked us to slow down"
    advice = "The next run will try again."
    retryable = True

    def __init__(self, detail: str | None = None, *, retry_after: float = 1.0, **kwargs) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class Unavailable(ApiError):
    """A 5xx, time-out or connection error; retryable, unless a write may have happened."""

    summary = "could not be reached or did not answer"
    advice = "The next run will try again."
    retryable = True

    def __init__(self, detail: str | None = None, *, write_uncertain: bool = False, **kwargs):
        super().__init__(detail, **kwargs)
        self.write_uncertain = write_uncertain
        if write_uncertain and "advice" not in kwargs:
            # A blind retry could book the same order twice; a person or a lookup must decide.
            self.advice = (
                f"The change may have been saved anyway: check {self.api} before trying again."
            )


class Rejected(ApiError):
    """The API refused the request (4xx); the data or a setting must change first."""

    summary = "refused the request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Iterable[str] = (),
        property_name: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(detail, **kwargs)
        self.errors = list(errors)
        self.property_name = property_name

    def _detail_text(self) -> str:
        extra = [e for e in self.errors if e and e != self.detail]
        if not extra:
            return self.detail or ""
        return f"{self.detail or ''} [{'; '.join(extra)}]".strip()


class NotFound(Rejected):
    """The resource does not exist (404)."""

    summary = "could not find it"
