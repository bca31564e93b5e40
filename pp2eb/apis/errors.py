"""The error family both API clients raise, so callers can branch on what to do next.

Each client subclasses these once (``plugandpay.AuthError`` is both a ``PlugAndPayError`` and an
``apierrors.AuthError``), so the engine can catch ``apierrors.Unavailable`` for either API and a
page can catch ``plugandpay.AuthError`` alone. Messages never carry a key, token or header;
their words come from ``words``.
"""

from __future__ import annotations

from collections.abc import Iterable

from pp2eb.apis import words


class ApiError(Exception):
    """An API call failed; ``str()`` says what happened in words a shop owner can follow."""

    #: Human name of the API; each client's family sets it.
    api: str = words.ANY_API
    #: What went wrong, without the details: a sentence of ``words`` with ``%(name)s``.
    summary: str = words.ANSWERED_WITH_AN_ERROR
    #: True when trying the same call again later may succeed without anyone changing anything.
    retryable: bool = False
    #: Which kind of failure, for ``words.explain_api_error`` (which cannot import these classes).
    kind: str = "error"

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
        #: What a person should do about it, or "".
        self.advice = self.default_advice() if advice is None else advice

    def default_advice(self) -> str:
        """What to do about this kind of error, unless the raiser said otherwise."""
        return ""

    def what_happened(self) -> str:
        """The API, what went wrong, the status and code, and the API's own message."""
        head = self.summary % {"name": self.api}
        if self._tags():
            head += f" ({self._tags()})"
        detail = self._detail_text()
        text = f"{head}: {detail}" if detail else head
        return text if text.endswith((".", "!", "?")) else f"{text}."

    def particulars(self) -> str:
        """The status and code and the API's own message ("422, X: too long"), for a page that
        words what happened itself."""
        return ": ".join(part for part in (self._tags(), self._detail_text()) if part)

    def _tags(self) -> str:
        return ", ".join(str(part) for part in (self.status, self.code) if part is not None)

    def __str__(self) -> str:
        text = self.what_happened()
        return f"{text} {self.advice}" if self.advice else text

    def _detail_text(self) -> str:
        return self.detail or ""


class AuthError(ApiError):
    """The key or token was refused (401); a person has to reconnect."""

    summary = words.REFUSED_THE_CREDENTIALS
    kind = "auth"

    def default_advice(self) -> str:
        return words.reconnect(self.api)


class RateLimited(ApiError):
    """Too many requests (429), still so after waiting as asked; try again later."""

    summary = words.ASKS_TO_SLOW_DOWN
    retryable = True
    kind = "rate_limited"

    def __init__(self, detail: str | None = None, *, retry_after: float = 1.0, **kwargs) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after

    def default_advice(self) -> str:
        return words.TRIED_AGAIN_NEXT_RUN


class Unavailable(ApiError):
    """A 5xx, time-out or connection error; retryable, unless a write may have happened."""

    summary = words.NOT_REACHED
    retryable = True
    kind = "unavailable"

    def __init__(self, detail: str | None = None, *, write_uncertain: bool = False, **kwargs):
        self.write_uncertain = write_uncertain  # before the advice, which depends on it
        super().__init__(detail, **kwargs)

    def default_advice(self) -> str:
        if self.write_uncertain:
            # A blind retry could book the same order twice; a person or a lookup must decide.
            return words.english(words.CHECK_BEFORE_TRYING_AGAIN, name=self.api)
        return words.TRIED_AGAIN_NEXT_RUN


class Rejected(ApiError):
    """The API refused the request (4xx); the data or a setting must change first."""

    summary = words.REFUSED_THE_REQUEST
    kind = "rejected"

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

    summary = words.COULD_NOT_FIND_IT
    kind = "not_found"
