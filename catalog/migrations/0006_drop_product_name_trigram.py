"""Drop ``product_name_trgm`` (PostgreSQL only): nothing reads it since the links search moved to
``PaymentLink.search_text`` (links migration 0006), and the catalog's own search ORs the description,
which the planner cannot serve from it. The pg_trgm extension stays: the links and orders searches use it.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations
from django.db.models.functions import Upper

from config.migration_operations import RemoveIndexOnPostgreSQL


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_product_name_trigram"),
    ]

    operations = [
        RemoveIndexOnPostgreSQL(
            model_name="product",
            index=GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="product_name_trgm"),
        ),
    ]
