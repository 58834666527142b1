from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0012_trunks')]

    initial = False

    # Nullable: a null policy is the default one, so rows already there need no value.
    operations: list[ops.Operation] = [
        ops.AddField(
            model_name='Tenant',
            name='outbound_policy',
            field=fields.JSONField(null=True),
        ),
        ops.AddField(
            model_name='User',
            name='outbound_policy',
            field=fields.JSONField(null=True),
        ),
        ops.AddField(
            model_name='Trunk',
            name='outbound_policy',
            field=fields.JSONField(null=True),
        ),
    ]
