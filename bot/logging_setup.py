"""Log format: one line per record, with the ids passed in `extra=` appended as key=value."""

import logging
import sys

# uvicorn adds `color_message`, a copy of the message with terminal colours.
_STANDARD_FIELDS = frozenset(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class KeyValueFormatter(logging.Formatter):
    """Appends every `extra=` field of a record, so ids reach the log line."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {key: value for key, value in vars(record).items() if key not in _STANDARD_FIELDS}
        if extras:
            line += " " + " ".join(f"{key}={value}" for key, value in sorted(extras.items()))
        return line


def configure_logging(level: str = "INFO") -> None:
    """Send logs to stderr in the key=value format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # APScheduler logs every run of every job at INFO; our jobs log what they do.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
