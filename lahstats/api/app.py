"""The Litestar application factory: one place wires settings, runtime, routes and errors."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from lahstats import __version__
from lahstats.api.auth import auth_middleware
from lahstats.api.bodies import MAX_JSON_BODY_BYTES, check_request, chunk_body_cap
from lahstats.api.chunks import ChunkController
from lahstats.api.deps import DEPENDENCIES
from lahstats.api.errors import EXCEPTION_HANDLERS
from lahstats.api.exports import ExportController
from lahstats.api.groups import GroupController, MeController
from lahstats.api.health import HealthController
from lahstats.api.media import MediaController
from lahstats.api.middleware import request_id_middleware
from lahstats.api.sessions import SessionController
from lahstats.api.speakers import SpeakerController
from lahstats.api.voices import VoiceController
from lahstats.api.web import DevTokenController, WebController
from lahstats.api.webhooks import WebhookController
from lahstats.api.words import WordController
from lahstats.api.wrapped import LeaderboardController, WrappedController
from lahstats.auth.tokens import TokenVerifier
from lahstats.logs import configure_logging
from lahstats.runtime.resources import Runtime
from lahstats.settings import Settings, get_settings


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    serving: bool = False,
) -> Litestar:
    """Builds the app; refuses to (raises ``ConfigurationError``) when the settings cannot work.

    ``serving``: for a long-lived server process (``lahstats serve``): once started, the upload
    prober's processes start at once, and everything start-up made is moved out of the garbage
    collector's reach (``gc.freeze``). Tests build many short-lived apps and leave it off.
    """
    settings = settings or get_settings()
    settings.check_ready()
    configure_logging(settings.log_level, json=settings.log_json)
    runtime = runtime or Runtime.build(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.runtime = runtime
        await runtime.start(with_worker=settings.serve_workers)
        if serving:
            runtime.prober.start()  # a server takes uploads at once: no cold first upload
            # What start-up made (modules, routes, the ORM's mappers: ~300k objects) lives as
            # long as the process; frozen, the collector stops walking it on every full pass,
            # which took up to ~150 ms mid-request under load (docs/operations.md, Reliability).
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await runtime.stop()

    app = Litestar(
        route_handlers=[
            HealthController,
            GroupController,
            MeController,
            SessionController,
            # The one place bodies of megabytes are taken; every other route caps them far lower.
            Router(
                "/",
                route_handlers=[ChunkController],
                request_max_body_size=chunk_body_cap(settings),
            ),
            SpeakerController,
            VoiceController,
            ExportController,
            WrappedController,
            LeaderboardController,
            WebhookController,
            WordController,
            MediaController,
            WebController,
            DevTokenController,
        ],
        dependencies=DEPENDENCIES,
        middleware=[auth_middleware(TokenVerifier(settings))],
        guards=[check_request],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="LahStats API",
            version=__version__,
            description="Record a hangout, count who said which Singlish word, see your Wrapped.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        request_max_body_size=MAX_JSON_BODY_BYTES,
        logging_config=None,  # configure_logging owns the handlers
        debug=False,
    )
    # Outermost, so that every response (404s of unknown routes included) carries and logs an id.
    app.asgi_handler = request_id_middleware(app.asgi_handler)
    return app
