"""The only place SurrealQL text is written: pure functions from arguments to ``Statement``s."""

from . import blocks, builder
from .filters import compile_filters
from .idents import field_path, identifier, quote
from .statement import Sql, Statement, Var, compose, ident, sql

__all__ = [
    "Sql",
    "Statement",
    "Var",
    "blocks",
    "builder",
    "compile_filters",
    "compose",
    "field_path",
    "ident",
    "identifier",
    "quote",
    "sql",
]
