"""Logging for the standalone service, with secrets redacted.

A host application that mounts the phones API configures logging itself;
this module is used only by `wsgi.py` and `app.py`.
"""

from __future__ import annotations

import logging
import re
import time

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# API keys, bearer tokens and the value of an Authorization header, in any
# letter case, in case a message ever carries one, such as a request path in
# the request log. A header value runs to the end of the line, except for a
# final quote. "Authorization header" is the service's own wording, not a
# header's value. Between a header name or scheme and its value may stand
# white space, a colon or an equals sign, also as repr() writes a tab (`\t`)
# or percent-encoded in a URL (`%09`, `%20`, `%3A`, `%3D`, `+`).
_SEPARATOR = r"(?:[ \t:=+]|\\t|%09|%20|%3a|%3d)+"
_SECRET = re.compile(
    r"(phk_[A-Za-z0-9]{8})(?:_|%5f)[A-Za-z0-9_\-]+"
    rf"|((?:proxy-)?authorization{_SEPARATOR}(?!header\b))"
    r"[^\r\n]+?(?='?(?:[\r\n]|\Z))"
    rf"|(bearer{_SEPARATOR})[^\s'\"&]+",
    re.IGNORECASE,
)


class RedactSecrets(logging.Filter):
    """Mask API keys and credentials in a record's message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - anything an argument's __str__ raises
            # A filter's error would reach the code that logged. So a call
            # whose arguments do not fit its format logs the format alone,
            # because the arguments may contain a secret.
            message = f"{record.msg} [arguments that do not fit the message left out]"
        # Every match contains one of these words, in lower case. Checking
        # for them first skips the regex (about 40 % of a record's cost) on
        # other lines.
        lowered = message.lower()
        if "phk_" in lowered or "bearer" in lowered or "authorization" in lowered:
            message = _SECRET.sub(_redact, message)
        # The formatter reads the message again, so storing it here builds it once.
        record.msg, record.args = message, None
        # A formatter writes `exc_text` when it is set, instead of formatting
        # the exception again, so every handler gets the redacted traceback.
        if record.exc_info and not record.exc_text:
            record.exc_text = _EXCEPTIONS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _SECRET.sub(_redact, record.exc_text)
        if record.stack_info:
            record.stack_info = _SECRET.sub(_redact, record.stack_info)
        return True


_EXCEPTIONS = logging.Formatter()


def _redact(match: re.Match[str]) -> str:
    key_prefix, header_name, scheme = match.groups()
    if key_prefix:
        return key_prefix + "_[redacted]"
    return (header_name or scheme) + "[redacted]"


class ServiceFormatter(logging.Formatter):
    """Formatter that formats the local date and time once per second.

    `logging.Formatter` calls `time.localtime` and `time.strftime` for
    every record, one per request for the request log.
    """

    _second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """Return the record's local time, as `logging.Formatter` writes it."""
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        cached_second, text = self._second
        if second != cached_second:
            text = time.strftime(
                self.default_time_format, self.converter(record.created)
            )
            self._second = (second, text)
        return self.default_msec_format % (text, record.msecs)


def configure_logging(level: int = logging.INFO) -> None:
    """Send the service's logs to stderr unless logging is already set up.

    The process is the service's own, so records skip the caller lookup and
    the thread fields that its format never shows.
    """
    root = logging.getLogger()
    if root.handlers:
        return
    # Switches that the logging module's source offers: no findCaller()
    # stack walk per record, and no thread or multiprocessing names. Process
    # ids stay, because gunicorn's own log lines show them.
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(ServiceFormatter(LOG_FORMAT))
    handler.addFilter(RedactSecrets())
    root.addHandler(handler)
    root.setLevel(level)
