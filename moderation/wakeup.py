"""Waking a worker: after a comment commits, send the scoring task, one per burst of comments
(coalesced through the cache), and leave a broker that just failed alone for a while. The web
side sends from here (services.comment_create), and so does the worker (a full batch, the
sweep)."""

import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction

from moderation.cache import cache_add, cache_delete
from moderation.tasks import pending_comments_score_task

# Set while a scoring task is queued and not yet started, so a burst of POSTs sends one task.
# It expires by itself in case that task is lost (the sweep rings again anyway).
SCORING_QUEUED = "replyguard:scoring-queued"
SCORING_QUEUED_SECONDS = 10


def scoring_task_started() -> None:
    """A scoring task is claiming now: a comment committed from here on sends a task of its own
    (the flag stood for the task that just started)."""
    cache_delete(SCORING_QUEUED)


def scoring_task_send_on_commit() -> None:
    """After commit, make sure a worker will score the pending comments. Pending rows are the
    queue and a task only wakes a worker: with a shared cache, one task per burst of comments
    instead of one per comment, whose fixed cost held a worker to ~100 comments/s. A broker
    outage is logged, not raised: the pending row is the source of truth, the sweep re-sends.
    The task starts REPLYGUARD_SCORING_WAIT seconds later, so the comments of that moment
    share it: a trickle of tasks of one comment each cost the worker more CPU than scoring."""
    transaction.on_commit(scoring_task_send, robust=True)


def scoring_task_send(*, wait: float | None = None) -> None:
    """Queue a scoring task to start in `wait` seconds (default REPLYGUARD_SCORING_WAIT)."""
    if wait is None:
        wait = settings.REPLYGUARD_SCORING_WAIT
    # A shared cache holds the flag until the task starts and clears it. A per-process cache
    # (the embedded default's locmem) never sees it cleared, so there it lasts as long as the
    # task waits: whatever commits meanwhile is committed before that task claims.
    per_process = isinstance(caches["default"], LocMemCache)
    coalesce_for = wait if per_process else SCORING_QUEUED_SECONDS
    # With the cache down, every comment sends one: more tasks, none lost.
    if coalesce_for and not cache_add(SCORING_QUEUED, True, timeout=coalesce_for):
        return  # a queued task will claim this comment
    if time.monotonic() < _broker_unreachable_until:
        return  # it failed a moment ago: the sweep sends one for this comment once it is back
    try:
        pending_comments_score_task.apply_async(countdown=wait or None)
    except Exception:
        _broker_unreachable(settings.REPLYGUARD_BROKER_RETRY_AFTER)
        cache_delete(SCORING_QUEUED)  # the next comment tries again
        raise


# Until when (time.monotonic()) this process does not try the broker again. A broker that
# accepts connections and never answers cost every POST its 2 s timeout, and reads queued
# behind them on the same web process waited too (7.9 s).
_broker_unreachable_until = 0.0


def _broker_unreachable(seconds: float) -> None:
    global _broker_unreachable_until
    _broker_unreachable_until = time.monotonic() + seconds
