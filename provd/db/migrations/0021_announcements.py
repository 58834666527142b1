from importlib import import_module

from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

# A foreign key added to a table that SQLite must remake to drop it again (0018 says why).
AddForeignKey = import_module("provd.db.migrations.0018_ivr_menus").AddForeignKey


class Migration(migrations.Migration):
    dependencies = [('models', '0020_voicemail_access')]

    initial = False

    operations: list[ops.Operation] = [
        ops.CreateModel(
            name='Announcement',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('extension', fields.CharField(max_length=5)),
                ('name', fields.CharField(max_length=64)),
                ('sound', fields.ForeignKeyField('models.Sound', source_field='sound_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('plays', fields.IntField(default=1)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'announcement', 'app': 'models', 'unique_together': (('tenant', 'extension'),), 'pk_attr': 'id', 'table_description': 'An extension of the tenant that the media application answers, plays a sound'},
            bases=['Model'],
        ),
        AddForeignKey(
            model_name='PhoneNumber',
            name='assigned_announcement',
            field=fields.ForeignKeyField('models.Announcement', source_field='assigned_announcement_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='Tenant',
            name='moh_playlist',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
