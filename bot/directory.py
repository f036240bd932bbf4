"""Approver lookup through Slack user groups, cached briefly."""

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from models.policy import Tier

logger = logging.getLogger(__name__)

CACHE_SECONDS = 300


class SlackApproverDirectory:
    """Resolves tiers to user ids: the tier's users plus its user groups' members.

    Group members are cached for `ttl` seconds. When Slack cannot be reached
    the last known members are used, and a group never resolved counts as empty.
    """

    def __init__(self, client: WebClient, ttl: float = CACHE_SECONDS) -> None:
        self._client = client
        self._ttl = ttl
        self._lock = threading.Lock()
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}

    def members(self, tier: Tier) -> frozenset[str]:
        users = set(tier.users)
        for group_id in tier.usergroups:
            users |= self._group_members(group_id)
        return frozenset(users)

    def _group_members(self, group_id: str) -> frozenset[str]:
        now = time.monotonic()
        with self._lock:
            cached = self._groups.get(group_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]

        try:
            response = self._client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as error:
            logger.warning(
                "user group lookup failed: %s",
                error.response.get("error"),
                extra={"usergroup_id": group_id},
            )
            return cached[1] if cached else frozenset()

        listed: list[str] = response.get("users") or []
        found = frozenset(str(user) for user in listed)
        with self._lock:
            self._groups[group_id] = (now, found)
        return found
