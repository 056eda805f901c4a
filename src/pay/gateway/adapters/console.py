"""The web console: its page at `/` and its files under `/console/`, read from the package, so the platform
serves them as installed, with no build step.

The browser may keep each file but asks again before using it (`no-cache`, answered 304 while the file's ETag
is the same), so a new version of the platform is seen on the next load and an unchanged one costs no bytes.
"""

import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

# Under a prefix of its own, which no contract path starts with (see `pay.gateway.domain.routes`).
CONSOLE_PREFIX = "/console"
CONSOLE_DIRECTORY = Path(__file__).parent.parent / "console"


class ConsoleFiles(StaticFiles):
    def __init__(self) -> None:
        super().__init__(directory=CONSOLE_DIRECTORY)

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        return response

    async def page(self, request: Request) -> Response:
        """The console's one page, at the origin's root."""
        return await self.get_response("index.html", request.scope)
