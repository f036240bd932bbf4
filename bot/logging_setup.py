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
    handler.addFilter(_drop_expected_noise)
    # APScheduler logs every run of every job, and the stripe package every
    # request, at INFO; our jobs and gateway log what they do with ids.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("stripe").setLevel(max(logging.WARNING, root.level))


# Warnings that describe intended behaviour: Bolt notices SLACK_BOT_TOKEN in the
# environment although we hand it a client, and APScheduler skips a delivery
# tick while the previous pass still runs.
_EXPECTED_NOISE = (
    "As you gave client as well, token will be unused",
    "maximum number of running instances reached",
)


def _drop_expected_noise(record: logging.LogRecord) -> bool:
    message = record.getMessage()
    return not any(text in message for text in _EXPECTED_NOISE)
