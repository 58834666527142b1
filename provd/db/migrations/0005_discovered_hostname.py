from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_web_console')]

    initial = False

    operations = [
        ops.AddField(
            model_name='DiscoveredDevice',
            name='hostname',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
