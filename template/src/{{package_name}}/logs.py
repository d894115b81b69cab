"""Logging: one line per event, JSON in production and readable text in development
(`LOG_FORMAT`), each with the id of the request it was written for. Uvicorn's own loggers, the
access log included, go through the same handler."""

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from asgi_correlation_id import correlation_id

from .settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def add_request_id(record: logging.LogRecord) -> bool:
    """A filter that puts the current request's id (or None) on the record."""
    record.request_id = correlation_id.get()
    return True


def configure_logging(settings: Settings) -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"request_id": {"()": lambda: add_request_id}},
            "formatters": {"json": {"()": JsonFormatter}, "text": {"format": TEXT_FORMAT}},
            "handlers": {
                "default": {
                    "class": "logging.StreamHandler",
                    "formatter": settings.log_format,
                    "filters": ["request_id"],
                }
            },
            "loggers": {
                name: {"handlers": [], "propagate": True}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
            },
            "root": {"handlers": ["default"], "level": settings.log_level},
        }
    )
