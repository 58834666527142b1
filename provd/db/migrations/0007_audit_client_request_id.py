from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_pnp_tokens')]

    initial = False

    operations = [
        ops.AddField(
            model_name='AuditEntry',
            name='client_request_id',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
