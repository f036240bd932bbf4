"""The clock that rules and jobs read, so tests can move time."""

from collections.abc import Callable
from datetime import datetime

from models.columns import utc_now

Clock = Callable[[], datetime]

system_clock: Clock = utc_now
