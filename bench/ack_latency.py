"""Measure how fast the app acknowledges Slack requests, next to a bare Bolt app.

Slack shows the user an error when an app has not responded to a slash command or an
interaction within 3 seconds, so every listener must call ack() before slow work. This
benchmark sends Slack-signed requests from client threads on this machine and records
each request's HTTP time: httpx's ``Response.elapsed``, from sending the request until
the whole response has been read. The request kinds are:

- ``/quote`` with no text: ack, then views.open with the quote modal;
- ``/quote`` in the one-line form: ack, then database work and chat.postMessage;
- the "Create payment link" button: ack, then a Stripe call that the Stripe stand-in
  responds to after ``--stripe-latency`` seconds.

The same requests also go to a bare Bolt app whose listeners only call ack(). It is
served by the same Starlette code (``bot.server.create_web_app``) on uvicorn, so the
ours/bare ratio shows what our listeners and their background work add. The app, the
bare app and the Slack and Stripe stand-ins from ``tests/standins`` all listen on
127.0.0.1.

Run from the repository root:

    python -m bench.ack_latency --requests 300 --concurrency 10

The results are printed as Markdown and written into bench/README.md between the
result markers. The exit status is 1 when a request failed or the background work
did not finish.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.app import APOLOGY, build_runtime
from bot.db import upgrade
from bot.settings import Settings
from bot.views import SEND_LINK_ACTION
from tests.catalog_data import load_catalog
from tests.conftest import BOT_TOKEN, MANAGER_ID, SIGNING_SECRET, ServedApp, make_settings
from tests.slack_requests import SlackClientSim
from tests.standins.slack_api import SlackStandIn
from tests.standins.stripe_api import StripeStandIn

logger = logging.getLogger("bench.ack_latency")

README_PATH = Path(__file__).with_name("README.md")
RESULTS_START = "<!-- ack_latency results: start -->"
RESULTS_END = "<!-- ack_latency results: end -->"

SALES_CHANNEL = "C0SALES"
ONE_LINE_QUOTE = "Acme Corp; 3 x WIDGET-1; discount 5%"
# Slack's limit for the HTTP response to a slash command or an interaction.
SLACK_ACK_LIMIT_SECONDS = 3.0
# Upper bound for background work that makes no Stripe call, after the last ack.
QUICK_DRAIN_TIMEOUT_SECONDS = 120.0

Send = Callable[[SlackClientSim], httpx.Response]


# ---------------------------------------------------------------------- results


@dataclasses.dataclass
class LoadResult:
    """The HTTP outcomes of one batch of requests of one kind to one app."""

    kind: str
    app: str
    latencies: list[float]  # seconds, for each request that got an HTTP response
    outcomes: Counter[str]  # "HTTP 200", "HTTP 404", "ReadTimeout", ... with counts
    wall_seconds: float

    @property
    def requests(self) -> int:
        return sum(self.outcomes.values())

    @property
    def failures(self) -> int:
        return self.requests - self.outcomes["HTTP 200"]

    @property
    def over_limit(self) -> int:
        return sum(1 for latency in self.latencies if latency > SLACK_ACK_LIMIT_SECONDS)

    def percentile(self, percent: int) -> float:
        """Return the latency percentile in seconds (inclusive method), or NaN without data."""
        if not self.latencies:
            return math.nan
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[percent - 1]

    @property
    def max(self) -> float:
        return max(self.latencies, default=math.nan)


@dataclasses.dataclass
class Background:
    """Outcome of the work that our listeners do after ack(), for one request kind."""

    kind: str
    finished: str  # e.g. "views.open calls: 300 of 300"
    error_replies: int  # apologies that the app's error hook posted to response URLs
    drain_seconds: float  # from the last ack to the end of the background work
    problem: str | None  # why the wait for the background work failed, if it did


class RepeatLimit(logging.Filter):
    """Let the first `limit` records with the same start through and count the rest.

    Records share a start when the first 40 characters of their messages match.

    Bolt logs several lines for every request whose ack timed out, which would bury
    the results when hundreds of requests time out.
    """

    def __init__(self, limit: int = 3) -> None:
        super().__init__()
        self.limit = limit
        self.counts: Counter[str] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        start = record.getMessage()[:40]
        self.counts[start] += 1
        return self.counts[start] <= self.limit

    def log_suppressed(self) -> None:
        for start, count in self.counts.items():
            if count > self.limit:
                logger.warning(
                    "Bolt logged %d more records starting with %r, which were not shown",
                    count - self.limit,
                    start,
                )


# ---------------------------------------------------------------------- apps


def build_bare_bolt_app(settings: Settings) -> App:
    """Build a Bolt app set up like ours whose listeners only call ack()."""
    app = App(
        client=WebClient(token=BOT_TOKEN, base_url=settings.slack_api_url),
        signing_secret=SIGNING_SECRET,
        token_verification_enabled=False,
        logger=logging.getLogger("slack_bolt"),
    )

    @app.command("/quote")
    def quote_command(ack: Ack) -> None:
        ack()

    @app.action(SEND_LINK_ACTION)
    def send_link_pressed(ack: Ack) -> None:
        ack()

    return app


def shut_down_listeners(app: App) -> None:
    """Wait for the listeners still queued or running in the Bolt app's thread pool."""
    executor = app.listener_runner.listener_executor
    if isinstance(executor, ThreadPoolExecutor):
        executor.shutdown(wait=True)


# ---------------------------------------------------------------------- requests


def slash_quote(text: str) -> Send:
    def send(client: SlackClientSim) -> httpx.Response:
        return client.slash_command("/quote", text, channel_id=SALES_CHANNEL)

    return send


def press_send_link(message: dict[str, Any]) -> Send:
    """Return a sender that presses the message's "Create payment link" button."""
    value, block_id = send_link_button(message)

    def send(client: SlackClientSim) -> httpx.Response:
        return client.block_action(
            SEND_LINK_ACTION, value=value, block_id=block_id, message=message
        )

    return send


def send_link_button(message: dict[str, Any]) -> tuple[str, str]:
    """Return the value and block id of the message's payment link button."""
    for block in message.get("blocks", []):
        if block["type"] != "actions":
            continue
        for element in block["elements"]:
            if element.get("action_id") == SEND_LINK_ACTION:
                return element["value"], block["block_id"]
    raise ValueError(f"message {message.get('ts')} has no {SEND_LINK_ACTION} button")


def send_link_messages(slack_api: SlackStandIn) -> list[dict[str, Any]]:
    """Return the quote messages in the sales channel that have a payment link button."""
    found = []
    for message in slack_api.messages(SALES_CHANNEL):
        with contextlib.suppress(ValueError):
            send_link_button(message)
            found.append(message)
    return found


def run_load(
    app_url: str,
    slack_api: SlackStandIn,
    sends: Sequence[Send],
    *,
    concurrency: int,
    kind: str,
    app: str,
) -> LoadResult:
    """Send every request from `concurrency` client threads, each with its own connection pool."""
    local = threading.local()
    clients: list[SlackClientSim] = []
    clients_lock = threading.Lock()

    def thread_client() -> SlackClientSim:
        client = getattr(local, "client", None)
        if client is None:
            client = SlackClientSim(app_url, SIGNING_SECRET, slack_api)
            local.client = client
            with clients_lock:
                clients.append(client)
        return client

    def send_one(send: Send) -> httpx.Response | httpx.HTTPError:
        try:
            return send(thread_client())
        except httpx.HTTPError as error:
            return error

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bench-client") as pool:
        responses = list(pool.map(send_one, sends))
    wall_seconds = time.perf_counter() - started
    for client in clients:
        client.close()

    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    for response in responses:
        if isinstance(response, httpx.HTTPError):
            outcomes[type(response).__name__] += 1
            continue
        outcomes[f"HTTP {response.status_code}"] += 1
        latencies.append(response.elapsed.total_seconds())
    return LoadResult(kind, app, latencies, outcomes, wall_seconds)


# ---------------------------------------------------------------------- background work


def wait_for_count(
    count: Callable[[], int], target: int, timeout: float, description: str
) -> tuple[float, str | None]:
    """Poll `count` until it reaches `target`, and return the seconds waited and any problem."""
    started = time.monotonic()
    while count() < target:
        if time.monotonic() - started > timeout:
            return (
                time.monotonic() - started,
                f"timed out after {timeout:.0f} s waiting for {description}: {count()} of {target}",
            )
        time.sleep(0.05)
    return time.monotonic() - started, None


def error_replies(slack_api: SlackStandIn) -> int:
    return sum(1 for post in slack_api.responses if post.body.get("text") == APOLOGY)


# ---------------------------------------------------------------------- report


def milliseconds(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def ratio(ours: float, bare: float) -> str:
    if math.isnan(ours) or math.isnan(bare) or bare == 0:
        return "n/a"
    return f"{ours / bare:.2f}"


def latency_table(pairs: Sequence[tuple[LoadResult, LoadResult]]) -> list[str]:
    lines = [
        "| Request | App | Requests | Failures | Over 3 s | p50 ms | p95 ms | p99 ms | max ms "
        "| p50 ours/bare | p99 ours/bare |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for ours, bare in pairs:
        for result in (ours, bare):
            is_ours = result is ours
            p50_ratio = ratio(ours.percentile(50), bare.percentile(50)) if is_ours else ""
            p99_ratio = ratio(ours.percentile(99), bare.percentile(99)) if is_ours else ""
            lines.append(
                f"| {result.kind} | {result.app} | {result.requests} | {result.failures} "
                f"| {result.over_limit} | {milliseconds(result.percentile(50))} "
                f"| {milliseconds(result.percentile(95))} | {milliseconds(result.percentile(99))} "
                f"| {milliseconds(result.max)} | {p50_ratio} | {p99_ratio} |"
            )
    return lines


def background_table(
    pairs: Sequence[tuple[LoadResult, LoadResult]], backgrounds: Sequence[Background]
) -> list[str]:
    lines = [
        "| Request | Time to send all requests, s | Background finished | Error replies "
        "| Background drained, s after the last response |",
        "|---|---:|---|---:|---:|",
    ]
    for (ours, _bare), background in zip(pairs, backgrounds, strict=True):
        lines.append(
            f"| {background.kind} | {ours.wall_seconds:.1f} | {background.finished} "
            f"| {background.error_replies} | {background.drain_seconds:.1f} |"
        )
    return lines


def machine_description() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = ", ".join(
        f"{package} {metadata.version(package)}"
        for package in ("slack-bolt", "starlette", "uvicorn", "httpx")
    )
    cpu_text = f"{cpus} CPUs available to the process (`nproc`)"
    if model:
        cpu_text += f", {model}"
    return (
        f"{cpu_text}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; {versions}"
    )


def source_revision() -> str:
    """Return the checked-out commit, marked when the working tree has changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (git is not available)"
    return f"{commit} with uncommitted changes" if changes else commit


def report(
    args: argparse.Namespace,
    pairs: Sequence[tuple[LoadResult, LoadResult]],
    backgrounds: Sequence[Background],
) -> str:
    command = shlex.join(["python", "-m", "bench.ack_latency", *sys.argv[1:]])
    lines = [
        f"### Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- Command: `{command}`",
        f"- Code: commit {source_revision()}",
        f"- Machine: {machine_description()}",
        f"- Load: {args.requests} requests per kind and app from {args.concurrency} "
        f"concurrent client thread{'' if args.concurrency == 1 else 's'} "
        "(each waits for its response before sending the next); "
        f"Stripe stand-in latency {args.stripe_latency:g} s; SQLite database",
        "",
        *latency_table(pairs),
        "",
        *background_table(pairs, backgrounds),
    ]
    failed = [result for pair in pairs for result in pair if result.failures]
    if failed:
        lines += ["", "Failed requests:", ""]
        for result in failed:
            outcomes = ", ".join(
                f"{outcome} × {count}" for outcome, count in sorted(result.outcomes.items())
            )
            lines.append(f"- {result.kind}, {result.app}: {outcomes}")
    problems = [background.problem for background in backgrounds if background.problem]
    if problems:
        lines += ["", "Background work that did not finish:", ""]
        lines += [f"- {problem}" for problem in problems]
    return "\n".join(lines)


def write_readme(path: Path, results: str) -> None:
    """Replace the text between the result markers, or append the markers and results."""
    block = f"{RESULTS_START}\n{results}\n{RESULTS_END}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start, end = text.find(RESULTS_START), text.find(RESULTS_END)
    if start != -1 and end > start:
        text = text[:start] + block + text[end + len(RESULTS_END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


# ---------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ack_latency",
        description="Measure the HTTP ack latency of /quote and the payment link button "
        "against a bare Bolt app, with local Slack and Stripe stand-ins.",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=300,
        help="requests per request kind and app; also the number of quotes created "
        "and buttons pressed (default: 300)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=10,
        help="client threads sending requests at the same time (default: 10)",
    )
    parser.add_argument(
        "--stripe-latency",
        type=float,
        default=2.0,
        help="seconds the Stripe stand-in waits before it responds to a request (default: 2)",
    )
    parser.add_argument(
        "--readme",
        type=Path,
        default=README_PATH,
        help=f"results page to update between the result markers (default: {README_PATH})",
    )
    parser.add_argument(
        "--no-readme", action="store_true", help="print the results without writing the page"
    )
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1:
        parser.error("--requests and --concurrency must be at least 1")
    if args.stripe_latency < 0:
        parser.error("--stripe-latency must be 0 or more seconds")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logger.setLevel(logging.INFO)
    bolt_repeats = RepeatLimit()
    logging.getLogger("slack_bolt").addFilter(bolt_repeats)
    with (
        tempfile.TemporaryDirectory(prefix="o2c-bench-") as folder,
        contextlib.ExitStack() as cleanup,
    ):
        pairs, backgrounds = run_benchmark(args, Path(folder), cleanup)
    bolt_repeats.log_suppressed()

    results = report(args, pairs, backgrounds)
    print(results)
    if not args.no_readme:
        write_readme(args.readme, results)
        print(f"\nWrote the results to {args.readme}")

    failed = any(result.failures for pair in pairs for result in pair)
    unfinished = any(background.problem for background in backgrounds)
    return 1 if failed or unfinished else 0


def run_benchmark(
    args: argparse.Namespace, folder: Path, cleanup: contextlib.ExitStack
) -> tuple[list[tuple[LoadResult, LoadResult]], list[Background]]:
    """Start the stand-ins and both apps, send every batch and wait for the background work.

    `cleanup` stops the HTTP servers first, then waits for queued listeners, then
    stops the stand-ins, so no listener loses its Stripe or Slack stand-in.
    """
    database_url = f"sqlite:///{folder / 'o2c.db'}"
    upgrade(database_url)
    slack_api = SlackStandIn(bot_token=BOT_TOKEN).start()
    cleanup.callback(slack_api.stop)
    slack_api.add_user(MANAGER_ID, "manager", "Morgan Manager")
    stripe_api = StripeStandIn(latency=args.stripe_latency).start()
    cleanup.callback(stripe_api.stop)

    settings = make_settings(database_url, slack_api, stripe_api)
    runtime = build_runtime(settings, migrate=False)
    cleanup.callback(runtime.engine.dispose)
    with runtime.services.new_session() as session:
        load_catalog(session)
    bare_app = build_bare_bolt_app(settings)
    cleanup.callback(shut_down_listeners, runtime.bolt)
    cleanup.callback(shut_down_listeners, bare_app)

    # The bare app gets our runtime with only the Bolt app swapped, so both are served
    # by the same create_web_app code. Its Slack route uses nothing but `runtime.bolt`.
    ours_server = ServedApp(runtime)
    bare_server = ServedApp(dataclasses.replace(runtime, bolt=bare_app))
    ours_url = ours_server.start()
    cleanup.callback(ours_server.stop)
    bare_url = bare_server.start()
    cleanup.callback(bare_server.stop)

    def load(url: str, sends: Sequence[Send], kind: str, app: str) -> LoadResult:
        logger.info("sending %d × %s to the %s app", len(sends), kind, app)
        return run_load(url, slack_api, sends, concurrency=args.concurrency, kind=kind, app=app)

    # Warm-up, not measured: `/quote help` acks with the help text and changes nothing.
    for url, app in ((ours_url, "ours"), (bare_url, "bare")):
        load(url, [slash_quote("help")] * args.concurrency, "`/quote help` warm-up", app)

    n = args.requests
    modal_kind = "`/quote` (modal)"
    one_line_kind = f"`/quote {ONE_LINE_QUOTE}`"
    button_kind = "Create payment link button"
    backgrounds: list[Background] = []

    # 1. /quote with no text: ack, then views.open.
    replies_before = error_replies(slack_api)
    modal = load(ours_url, [slash_quote("")] * n, modal_kind, "ours")

    def opened() -> int:
        return len(slack_api.calls_to("views.open"))

    waited, problem = wait_for_count(opened, n, QUICK_DRAIN_TIMEOUT_SECONDS, "views.open calls")
    backgrounds.append(
        Background(
            modal_kind,
            f"views.open calls: {opened()} of {n}",
            error_replies(slack_api) - replies_before,
            waited,
            problem,
        )
    )

    # 2. The one-line form: ack, then database work and chat.postMessage. These quotes
    # are the ones whose buttons are pressed below.
    replies_before = error_replies(slack_api)
    one_line = load(ours_url, [slash_quote(ONE_LINE_QUOTE)] * n, one_line_kind, "ours")

    def posted() -> int:
        return len(slack_api.calls_to("chat.postMessage"))

    waited, problem = wait_for_count(posted, n, QUICK_DRAIN_TIMEOUT_SECONDS, "quote messages")
    quote_messages = send_link_messages(slack_api)
    backgrounds.append(
        Background(
            one_line_kind,
            f"quote messages with a payment link button: {len(quote_messages)} of {n}",
            error_replies(slack_api) - replies_before,
            waited,
            problem,
        )
    )
    presses = [press_send_link(message) for message in quote_messages]

    # 3. The bare app gets the same bodies: the same texts and the same quote messages.
    bare_modal = load(bare_url, [slash_quote("")] * n, modal_kind, "bare")
    bare_one_line = load(bare_url, [slash_quote(ONE_LINE_QUOTE)] * n, one_line_kind, "bare")
    bare_button = load(bare_url, presses, button_kind, "bare")

    # 4. The button: ack, then one Stripe call per press and a chat.update.
    replies_before = error_replies(slack_api)
    updates_before = len(slack_api.calls_to("chat.update"))
    button = load(ours_url, presses, button_kind, "ours")

    def updated() -> int:
        return len(slack_api.calls_to("chat.update")) - updates_before

    # NOTE: this timeout assumes one press at a time, so it is a serial upper bound.
    # The drain is normally much shorter.
    button_timeout = QUICK_DRAIN_TIMEOUT_SECONDS + len(presses) * args.stripe_latency
    waited, problem = wait_for_count(
        updated, len(presses), button_timeout, "quote messages updated after the Stripe call"
    )
    links = len(stripe_api.objects("payment_link"))
    backgrounds.append(
        Background(
            button_kind,
            f"payment links: {links} of {len(presses)}; "
            f"messages updated: {updated()} of {len(presses)}",
            error_replies(slack_api) - replies_before,
            waited,
            problem,
        )
    )

    pairs = [(modal, bare_modal), (one_line, bare_one_line), (button, bare_button)]
    return pairs, backgrounds


if __name__ == "__main__":
    sys.exit(main())
