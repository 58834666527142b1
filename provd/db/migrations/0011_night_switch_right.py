from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0010_call_handling')]

    initial = False

    operations = [
        ops.AddField(
            model_name='User',
            name='may_switch_night',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
