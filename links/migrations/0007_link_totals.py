from django.db import migrations, models
from django.db.models import Count, Q, Sum


def count_existing(apps, schema_editor):
    """The totals of the links and paid orders already there (as links.totals.link_totals_rebuild)."""
    LinkTotal = apps.get_model("links", "LinkTotal")
    PaymentLink = apps.get_model("links", "PaymentLink")
    Order = apps.get_model("links", "Order")
    links = PaymentLink.objects.aggregate(total=Count("id"), active=Count("id", filter=Q(active=True)))
    paid = (
        Order.objects.filter(paid_at__isnull=False)
        .values("currency")
        .annotate(count=Count("id"), total=Sum("amount_total"))
        .order_by()
    )
    LinkTotal.objects.bulk_create(
        [
            LinkTotal(key="links", count=links["total"]),
            LinkTotal(key="links_active", count=links["active"]),
            *(
                LinkTotal(key=f"paid:{row['currency']}", count=row["count"], amount=row["total"] or 0)
                for row in paid
            ),
        ]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("links", "0006_link_search_text"),
    ]

    operations = [
        migrations.CreateModel(
            name="LinkTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=20)),
                ("shard", models.PositiveSmallIntegerField(default=0)),
                ("count", models.BigIntegerField(default=0)),
                ("amount", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("key", "shard"), name="link_total_key_shard")
                ],
            },
        ),
        migrations.RunPython(count_existing, migrations.RunPython.noop),
    ]
