from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0019_voicemail')]

    initial = False

    operations = [
        ops.AddField(
            model_name='User',
            name='voicemail_pin',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='User',
            name='voicemail_greeting',
            field=fields.ForeignKeyField('models.Sound', source_field='voicemail_greeting_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT),
        ),
    ]
