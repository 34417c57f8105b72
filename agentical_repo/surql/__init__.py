"""The query builder: pure functions from arguments to parameterised SurrealQL."""

from . import builder
from .filters import Page, PaginationParams, compile_filters
from .idents import field_path, identifier, quote
from .statement import Fragment, Params, Statement, compose

__all__ = [
    "Fragment",
    "Page",
    "PaginationParams",
    "Params",
    "Statement",
    "builder",
    "compile_filters",
    "compose",
    "field_path",
    "identifier",
    "quote",
]
