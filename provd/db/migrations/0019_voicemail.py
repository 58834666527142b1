from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0018_ivr_menus')]

    initial = False

    operations = [
        ops.CreateModel(
            name='VoicemailMessage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('caller', fields.CharField(max_length=64)),
                ('caller_name', fields.CharField(max_length=64)),
                ('caller_number', fields.CharField(null=True, max_length=20)),
                ('received_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('duration_ms', fields.IntField()),
                ('reason', fields.CharField(max_length=32)),
                ('heard', fields.BooleanField(default=False)),
                ('spool_id', fields.CharField(unique=True, max_length=64)),
                ('path', fields.CharField(max_length=255)),
            ],
            options={'table': 'voicemail_message', 'app': 'models', 'pk_attr': 'id', 'table_description': "A message a caller left in a user's mailbox, collected from the media"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='User',
            name='voicemail_email',
            field=fields.CharField(null=True, max_length=254),
        ),
    ]
