"""The transparency log's sequencer, as each server process runs it in the background.

Every ``SEQUENCE_EVERY`` seconds (with jitter, so several workers do not wake together)
the process integrates the attempts recorded since into their quizzes' logs and signs
the checkpoints (classroom.tlog.sequence_pending, whose per-quiz lock makes every worker
and host agree on one sequence). A round that finds the database busy waits for the
next; a stop runs one last round.
"""

from __future__ import annotations

import logging
import random

import anyio
import anyio.to_thread

from ..classroom.keys import Signing, checkpoints_file
from ..classroom.tlog import sequence_pending
from ..errors import StoreError
from .context import Context

SEQUENCE_EVERY = 0.5  # seconds: well inside the receipts' promise (classroom.tlog.MAX_MERGE_DELAY)
log = logging.getLogger("quizgen.sequencer")


def _round(ctx: Context) -> None:
    try:
        sequence_pending(ctx.store, Signing(ctx.signer, checkpoints_file(ctx.settings.key_file)))
    except (StoreError, OSError) as exc:  # busy, or the checkpoints file unwritable: the next round retries
        log.warning("sequencing postponed: %s", exc)


async def run(ctx: Context) -> None:
    while True:
        await anyio.sleep(SEQUENCE_EVERY * random.uniform(0.5, 1.5))
        await anyio.to_thread.run_sync(_round, ctx)


async def last_round(ctx: Context) -> None:
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(_round, ctx)
