"""pg_trgm, and a trigram index on the products' names (PostgreSQL only; nothing on SQLite).

The links list's search matches product names by substring (``price__product__name__icontains`` in
``links.selectors.link_list``), which compiles to ``UPPER("name"::text) LIKE UPPER('%…%')`` on PostgreSQL.
A B-tree index cannot serve a pattern with a leading ``%``; a GIN index of the trigrams of exactly that
expression can. It is not in ``Product.Meta``: see ``config.migration_operations.AddIndexOnPostgreSQL``.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations
from django.db.models.functions import Upper

from config.migration_operations import AddIndexOnPostgreSQL


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_staff_roles"),
    ]

    operations = [
        # CREATE EXTENSION pg_trgm (a trusted extension: the database owner may create it). A no-op on SQLite.
        TrigramExtension(),
        AddIndexOnPostgreSQL(
            model_name="product",
            index=GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="product_name_trgm"),
        ),
    ]
