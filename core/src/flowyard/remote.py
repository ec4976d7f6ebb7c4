"""One HTTP client for every remote engine (public: backends import it): timeouts, bounded retries,
bounded bodies, checked shapes, and one line with exit code 3 for anything unexpected.

A server may hang, fail for a moment, answer HTML, broken or wrong-shaped JSON, a body of hundreds of
megabytes, a redirect elsewhere, or echo the token it was sent. Each is handled here once:

- every request has a connect and a read timeout, and a total time bound on reading the body;
- a refused or timed-out connection, and a 429/5xx answer to a GET, are retried with bounded
  exponential backoff (urllib3's ``Retry``; a ``Retry-After`` is not obeyed, it could say a day);
  a POST is retried only when it never reached the server;
- redirects are not followed (the token would go with them): the answer names where it points;
- a body is read up to ``max_body_bytes`` and must be JSON; :meth:`RemoteClient.parse` checks its
  shape against a pydantic model;
- every message built from a server's answer has the token replaced by ``***``.

Settings come from the flag-env-config chain (:func:`flowyard.config.resolve_setting`): the
``connect_timeout``, ``read_timeout``, ``retries`` and ``max_response_bytes`` keys of the backend's
config section, or ``FLOWYARD_CONNECT_TIMEOUT``, ``FLOWYARD_READ_TIMEOUT``, ``FLOWYARD_HTTP_RETRIES``,
``FLOWYARD_MAX_RESPONSE_BYTES``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode, urlsplit

from pydantic import AfterValidator, BaseModel, ValidationError

from flowyard.config import authorization, resolve_setting
from flowyard.errors import FlowyardError, InfrastructureError

log: logging.Logger = logging.getLogger(__name__)

__all__ = ["HttpSettings", "RemoteClient", "RemoteError", "Timestamp", "poll_until"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
_VERDICTS = {
    400: "rejected the request",
    401: "refused the credentials",
    403: "forbids it",
    404: "has no such thing",
    409: "says the name is taken",
}


def _timestamp(value: str | None) -> str | None:
    from flowyard.runs import epoch_seconds

    if value:
        epoch_seconds(value)  # a ValueError for text that is not RFC 3339
    return value


Timestamp = Annotated[str | None, AfterValidator(_timestamp)]
"""An RFC 3339 timestamp in a server's answer, checked when the answer's shape is (see ``parse``)."""


class RemoteError(InfrastructureError):
    """A remote call that failed; ``transient`` when trying again later may succeed."""

    def __init__(self, message: str, *, status: int | None = None, transient: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient


@dataclass(frozen=True)
class HttpSettings:
    """Bounds on every remote call; the defaults suit a server on the same continent."""

    connect_seconds: float = 10.0
    read_seconds: float = 30.0
    total_seconds: float = 300.0  # reading one body, however slowly it drips
    retries: int = 3
    backoff_seconds: float = 0.5
    backoff_max_seconds: float = 8.0
    max_body_bytes: int = 64 * 2**20

    @classmethod
    def resolve(cls, backend: str) -> HttpSettings:
        """The defaults, overridden by the backend's config section or the environment."""
        keys = {
            "connect_seconds": ("connect_timeout", "FLOWYARD_CONNECT_TIMEOUT", float),
            "read_seconds": ("read_timeout", "FLOWYARD_READ_TIMEOUT", float),
            "retries": ("retries", "FLOWYARD_HTTP_RETRIES", int),
            "max_body_bytes": ("max_response_bytes", "FLOWYARD_MAX_RESPONSE_BYTES", int),
        }
        values: dict[str, Any] = {}
        for field, (key, env, cast) in keys.items():
            raw = resolve_setting(backend, key, None, [env])
            if raw is None:
                continue
            try:
                value = cast(raw)
            except (TypeError, ValueError):
                raise FlowyardError(f"{key} (or ${env}): expected a number, got {raw!r}") from None
            if not value >= 0 or value == float("inf"):
                raise FlowyardError(f"{key} (or ${env}): expected a finite number >= 0, got {raw!r}")
            values[field] = value
        return cls(**values)


class RemoteClient:
    """Calls to one server's JSON API, each bounded and turned into :class:`RemoteError` on failure."""

    def __init__(
        self,
        server: str,
        *,
        engine: str,
        token: str | None = None,
        insecure: bool = False,
        settings: HttpSettings | None = None,
    ) -> None:
        import urllib3

        self.server: str = server.rstrip("/")
        self.engine = engine
        try:
            parts = urlsplit(self.server)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError as e:
            raise FlowyardError(f"the {engine} URL is not a URL: {e}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FlowyardError(f"the {engine} URL must be http(s)://HOST[:PORT][/PATH], got scheme {parts.scheme!r}")
        self.settings: HttpSettings = settings or HttpSettings()
        header = authorization(token)
        self._headers = {"Accept": "application/json", **({"Authorization": header} if header else {})}
        self._secrets = [s for s in (token, header, *(header or "").split(" ")[1:]) if s]
        s = self.settings
        self._timeout = urllib3.Timeout(connect=s.connect_seconds, read=s.read_seconds)
        self._pool = urllib3.PoolManager(
            cert_reqs="CERT_NONE" if insecure else "CERT_REQUIRED", retries=False, timeout=self._timeout
        )
        if insecure:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    @property
    def where(self) -> str:
        """The server as shown in messages (without any user:password in its URL)."""
        parts = urlsplit(self.server)
        return f"{self.engine} {parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"

    def redact(self, text: str) -> str:
        from flowyard.runs import redact

        return redact(text, self._secrets)

    # --- requests ------------------------------------------------------------------------------

    def _retry(self, method: str) -> Any:
        from urllib3.util.retry import Retry

        s = self.settings
        return Retry(
            total=s.retries,
            connect=s.retries,
            read=s.retries if method == "GET" else 0,
            status=s.retries,
            other=0,
            redirect=0,
            raise_on_redirect=False,
            raise_on_status=False,
            status_forcelist=TRANSIENT_STATUS,
            allowed_methods=frozenset({"GET"}),
            backoff_factor=s.backoff_seconds,
            backoff_max=s.backoff_max_seconds,
            respect_retry_after_header=False,
        )

    def _send(self, method: str, path: str, what: str, body: Any, query: Mapping[str, str] | None) -> Any:
        import urllib3

        url = self.server + path + (f"?{urlencode(query)}" if query else "")
        log.debug("%s: %s %s", what, method, url)  # the token travels in a header, never logged
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            return self._pool.request(
                method, url, body=data, headers=headers, retries=self._retry(method), redirect=False,
                preload_content=False,
            )  # fmt: skip
        except urllib3.exceptions.MaxRetryError as e:
            raise self._transport_error(e.reason or e, what) from None
        except urllib3.exceptions.HTTPError as e:
            raise self._transport_error(e, what) from None

    def _transport_error(self, e: BaseException, what: str) -> RemoteError:
        import urllib3

        s = self.settings
        tries = f"tried {s.retries + 1} times" if s.retries else "tried once"
        if isinstance(e, urllib3.exceptions.SSLError):
            return RemoteError(f"{what}: TLS failed with {self.where}: check the URL scheme, or use --insecure")
        if isinstance(e, urllib3.exceptions.NewConnectionError):  # a subclass of ConnectTimeoutError
            return RemoteError(
                f"{what}: cannot connect to {self.where}: is it running there? ({tries})", transient=True
            )
        if isinstance(e, urllib3.exceptions.ConnectTimeoutError):
            return RemoteError(
                f"{what}: {self.where} did not accept a connection within {s.connect_seconds:g} s ({tries})",
                transient=True,
            )
        if isinstance(e, urllib3.exceptions.ReadTimeoutError):
            return RemoteError(f"{what}: {self.where} did not answer within {s.read_seconds:g} s", transient=True)
        first = self.redact(str(e)).strip().splitlines()
        return RemoteError(f"{what}: talking to {self.where} failed: {first[0][:200] if first else e}", transient=True)

    def _read(self, response: Any, what: str) -> bytes:
        """The body, refused once it is over ``max_body_bytes`` or takes over ``total_seconds``."""
        import urllib3

        limit = self.settings.max_body_bytes
        declared = response.headers.get("Content-Length", "")
        too_big = f"{what}: {self.where} answered over {limit:,} bytes (the limit: max_response_bytes)"
        if declared.isdigit() and int(declared) > limit:
            response.close()
            raise RemoteError(too_big)
        chunks, size, deadline = [], 0, time.monotonic() + self.settings.total_seconds
        try:
            for chunk in response.stream(65536):
                size += len(chunk)
                if size > limit:
                    raise RemoteError(too_big)
                if time.monotonic() > deadline:
                    raise RemoteError(f"{what}: {self.where} took over {self.settings.total_seconds:g} s to answer")
                chunks.append(chunk)
        except urllib3.exceptions.HTTPError as e:
            raise self._transport_error(e, what) from None
        finally:
            response.release_conn()
        return b"".join(chunks)

    def request_json(
        self, method: str, path: str, *, what: str, body: Any = None, query: Mapping[str, str] | None = None
    ) -> Any:
        """The JSON a call answers; any failure is one :class:`RemoteError` line."""
        response = self._send(method, path, what, body, query)
        if response.status >= 300:
            self._raise_for(response, what)
        raw = self._read(response, what)
        try:
            return json.loads(raw)
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type")
            raise RemoteError(
                f"{what}: {self.where} answered something that is not JSON ({kind}): {self._snippet(raw)}"
            ) from None

    def stream_lines(
        self, path: str, *, what: str, query: Mapping[str, str], max_line_bytes: int = 2**20
    ) -> Iterator[bytes]:
        """A streamed answer, line by line (each line bounded); the read timeout applies between lines."""
        import urllib3

        response = self._send("GET", path, what, None, query)
        if response.status >= 300:
            self._raise_for(response, what)
        pending = b""
        try:
            for chunk in response.stream(65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                if len(pending) > max_line_bytes:
                    raise RemoteError(f"{what}: {self.where} sent a line over {max_line_bytes:,} bytes")
                yield from lines
        except urllib3.exceptions.HTTPError as e:
            raise self._transport_error(e, what) from None
        finally:
            response.release_conn()
        if pending:
            yield pending

    def _raise_for(self, response: Any, what: str) -> None:
        """Raise the error a redirect or an error status means."""
        if response.status < 400:
            response.release_conn()
            target = self.redact(response.headers.get("Location", "elsewhere"))[:200]
            raise RemoteError(
                f"{what}: {self.where} redirects to {target} ({response.status}); flowyard does not follow "
                "redirects (the token would go with it): give that address as --server if it is the right one",
                status=response.status,
            )
        body = self._read(response, what)
        message = self._message(body)
        verdict = _VERDICTS.get(response.status, "failed" if response.status >= 500 else "answered")
        raise RemoteError(
            f"{what}: {self.where} {verdict} ({response.status}){': ' + message if message else ''}",
            status=response.status,
            transient=response.status in TRANSIENT_STATUS,
        )

    # --- answers -------------------------------------------------------------------------------

    def _snippet(self, raw: bytes) -> str:
        text = raw[:400].decode("utf-8", "replace")
        return repr(self.redact(" ".join(text.split()))[:80])

    def _message(self, raw: bytes) -> str:
        """A server's error message: the ``message`` (or ``error``) of a JSON body, else its first line."""
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if isinstance(data, dict):
            text = data.get("message") or data.get("error") or ""
            text = text.get("message", "") if isinstance(text, dict) else text
        else:
            text = raw[:2000].decode("utf-8", "replace")
        lines = [line.strip() for line in self.redact(str(text)).splitlines() if line.strip()]
        return lines[0][:200] if lines else ""

    def parse(self, model: type[M], data: Any, what: str) -> M:
        """``data`` as ``model``, or one line naming the first place it does not fit."""
        try:
            return model.model_validate(data)
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "the answer"
            raise RemoteError(
                f"{what}: {self.where} answered JSON of an unexpected shape ({where}: {err['msg']}); "
                "is this the right server and version?"
            ) from None


def poll_until(
    fetch: Callable[[], T],
    done: Callable[[T], bool],
    poll_seconds: float,
    timeout_seconds: float | None,
    *,
    tolerate: int = 5,
) -> T:
    """Call ``fetch`` every ``poll_seconds`` until ``done`` (or ``timeout_seconds`` pass). Up to
    ``tolerate`` transient failures in a row are waited out (with backoff), so a watch survives a
    server restarting; the next one, or any other failure, is raised."""
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    failures = 0
    while True:
        try:
            value = fetch()
        except RemoteError as e:
            failures += 1
            if not e.transient or failures > tolerate or (deadline is not None and time.monotonic() > deadline):
                raise
            time.sleep(min(max(poll_seconds, 0.05) * 2**failures, 30.0))
            continue
        failures = 0
        if done(value) or (deadline is not None and time.monotonic() > deadline):
            return value
        time.sleep(poll_seconds)
