"""The ASGI application: routes, error handling, limits and headers, and what every
request shares (the store, the receipt signer, the settings)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from fastapi import FastAPI

from .. import __version__
from ..classroom.keys import load_signer, register_key
from ..classroom.lti.keys import KeyRing, default_key_file
from ..classroom.lti.passback import Sender
from ..classroom.lti.platform_keys import PlatformKeys
from ..classroom.lti.services import LmsClient
from ..store.db import open_store
from . import api, errors, lti, pages, sequencer
from .context import Context, LtiTool
from .middleware import BodyLimit, SecurityHeaders
from .settings import ServiceSettings


def create_app(settings: ServiceSettings) -> FastAPI:
    """A ready app over the store ``settings.db``; it never creates or migrates a database
    (``quizgen db upgrade`` does), so several processes and hosts cannot race a migration."""
    store = open_store(settings.db, create=False)
    signer = load_signer(settings.key_file)
    register_key(store, signer)
    ring = KeyRing(settings.lti_key_file or default_key_file(settings.db))
    client = LmsClient()
    tool = LtiTool(ring, PlatformKeys(), client, Sender(store, ring.get, client))
    ctx = Context(store, signer, settings, tool)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        tool.sender.start()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(sequencer.run, ctx)
            yield
            tasks.cancel_scope.cancel()
        await anyio.to_thread.run_sync(ctx.recorder.stop)  # what is queued is recorded (and answered) first
        await sequencer.last_round(ctx)  # what was acknowledged before the stop is integrated now
        tool.sender.stop()
        client.close()
        store.dispose()

    # No Swagger page: it runs scripts from a CDN, which the pages' CSP (no scripts at all)
    # forbids, so it would be a blank page; the OpenAPI document itself is served.
    app = FastAPI(title="quizgen", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan,
                  openapi_url="/api/v1/openapi.json",
                  description="Students submit parameter-count quiz answers and get signed receipts. See docs/api.md.")
    app.state.quizgen = ctx
    errors.install(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(lti.router)
    app.add_middleware(BodyLimit, limit=settings.max_body)
    app.add_middleware(SecurityHeaders)

    return app


def app_from_env() -> FastAPI:
    """The factory uvicorn's worker processes call (``quizgen serve --workers N``)."""
    return create_app(ServiceSettings.from_env())
