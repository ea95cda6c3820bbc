"""Errors a user can cause. Each message is written for that user, in one sentence or two."""


class DataInsightsError(Exception):
    """Base class: ``str(error)`` is shown to the user as is."""


class DataLoadError(DataInsightsError):
    """A file could not be read as a table (empty, binary, truncated, wrong format...)."""


class ConfigError(DataInsightsError):
    """A setting from the environment is missing or invalid."""


class ItemNotFound(DataInsightsError):
    """A stored item does not exist (any more), or was expired by cleanup."""


class AccessDenied(DataInsightsError):
    """A key or upload id was presented by a session that does not own it."""


class InvalidParameter(DataInsightsError):
    """A parameter chosen by the user is impossible (unknown column, size out of range...)."""


class JobRejected(DataInsightsError):
    """A job was refused before it started (another one runs, not enough memory...)."""
