from django.db import migrations, models


class Migration(migrations.Migration):
    """The outbox's column for the invoice an e-mail is about now names any Stripe object (a refund's
    e-mail is about its refund): renamed, its rows kept, and the exactly-once constraint with it."""

    dependencies = [
        ("links", "0014_order_history_actions"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="outboundemail",
            name="one_email_per_order_kind_and_invoice",
        ),
        migrations.RenameField(
            model_name="outboundemail",
            old_name="invoice_id",
            new_name="stripe_object_id",
        ),
        migrations.AddConstraint(
            model_name="outboundemail",
            constraint=models.UniqueConstraint(
                fields=("order", "kind", "stripe_object_id"), name="one_email_per_order_kind_and_object"
            ),
        ),
    ]
