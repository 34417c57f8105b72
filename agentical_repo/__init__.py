"""agentical-repo: the native SurrealDB data-access layer of the Agentical agent platform."""

from .access import signin_user
from .database import Database, RequestCounter
from .errors import (
    AccessDeniedError,
    AgenticalError,
    AlreadyExistsError,
    BulkWriteError,
    CommitUnknownError,
    ConflictError,
    DatabaseUnavailableError,
    NotFoundError,
    QueryError,
    RepositoryError,
    SchemaError,
    TransactionError,
    ValidationError,
)
from .models import Entity
from .models.search import EntityHit
from .pagination import Page, PaginationParams
from .repositories import BaseRepository, CacheConfig, Repositories
from .settings import DatabaseSettings
from .surql.statement import Statement
from .transaction import Queued, Transaction

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "AgenticalError",
    "AlreadyExistsError",
    "BaseRepository",
    "BulkWriteError",
    "CacheConfig",
    "CommitUnknownError",
    "ConflictError",
    "Database",
    "DatabaseSettings",
    "DatabaseUnavailableError",
    "Entity",
    "EntityHit",
    "NotFoundError",
    "Page",
    "PaginationParams",
    "QueryError",
    "Queued",
    "Repositories",
    "RepositoryError",
    "RequestCounter",
    "SchemaError",
    "Statement",
    "Transaction",
    "TransactionError",
    "ValidationError",
    "__version__",
    "signin_user",
]
