"""The links list's search reads one column, ``PaymentLink.search_text`` (docs/performance.md).

Searching the name and, through the line items, the products' names was an OR across tables that no index
could serve as a whole: a common word cost as much as building every match, a rare one as much as every
link. One column with one trigram index lets PostgreSQL weigh the word. Existing links are filled here as
``links.services.link_search_text_refresh`` fills new ones.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations, models
from django.db.models import OuterRef, StringAgg, Subquery, Value
from django.db.models.functions import Coalesce, Concat, Upper

from config.migration_operations import AddIndexOnPostgreSQL, RemoveIndexOnPostgreSQL

SEPARATOR = " | "  # as links.services.SEARCH_TEXT_SEPARATOR at the time of this migration


def fill_search_text(apps, schema_editor):
    PaymentLink = apps.get_model("links", "PaymentLink")
    PaymentLinkLineItem = apps.get_model("links", "PaymentLinkLineItem")
    sold = (
        PaymentLinkLineItem.objects.filter(payment_link=OuterRef("pk"))
        .order_by()
        .values("payment_link")
        .annotate(
            names=StringAgg(
                Coalesce("price__product__name", "description", output_field=models.TextField()),
                delimiter=Value(SEPARATOR),
            )
        )
        .values("names")
    )
    PaymentLink.objects.update(
        search_text=Concat(
            "name",
            Value(SEPARATOR),
            Coalesce(Subquery(sold), Value(""), output_field=models.TextField()),
            output_field=models.TextField(),
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("links", "0005_order_email_exact"),
    ]

    operations = [
        migrations.AddField(
            model_name="paymentlink",
            name="search_text",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
        # ``search_text__icontains`` compiles to ``UPPER("search_text"::text) LIKE UPPER('%…%')``: a GIN
        # index of the trigrams of that expression serves it (PostgreSQL only, as in migration 0003).
        AddIndexOnPostgreSQL(
            model_name="paymentlink",
            index=GinIndex(OpClass(Upper("search_text"), name="gin_trgm_ops"), name="link_search_trgm"),
        ),
        # The name alone is no longer searched: its index would only slow down every insert.
        RemoveIndexOnPostgreSQL(
            model_name="paymentlink",
            index=GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="link_name_trgm"),
        ),
    ]
