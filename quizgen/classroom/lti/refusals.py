"""Why a login or launch is refused: a reason the page words (data/pages.json, ``lti``
→ ``refused``) and a detail for the log line."""

from __future__ import annotations

from ...errors import QuizgenError


class LaunchRefused(QuizgenError):
    """A login or launch that fails a check the LTI security framework requires; nothing
    was written."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
