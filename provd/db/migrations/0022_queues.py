from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_editor.sqlite import SqliteSchemaEditor
from tortoise.migrations.schema_generator.state import State


class AddForeignKey(ops.AddField):
    """AddField whose reversal works on SQLite (as in 0018_ivr_menus): the table is
    remade from the model as it was before, so the ``_id`` column goes too."""

    async def database_backward(
        self,
        app_label: str,
        old_state: State,
        new_state: State,
        state_editor: BaseSchemaEditor | None = None,
    ) -> None:
        if isinstance(state_editor, SqliteSchemaEditor):
            model = new_state.apps.get_model(f"{app_label}.{self.model_name}")
            await state_editor._remake_table(model)
            return
        await super().database_backward(app_label, old_state, new_state, state_editor)


class Migration(migrations.Migration):
    dependencies = [('models', '0021_announcements')]

    initial = False

    operations: list[ops.Operation] = [
        ops.CreateModel(
            name='Queue',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('extension', fields.CharField(max_length=5)),
                ('name', fields.CharField(max_length=64)),
                ('strategy', fields.CharField(max_length=16)),
                ('ring_seconds', fields.IntField(default=15)),
                ('max_wait_seconds', fields.IntField(default=300)),
                ('failover', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('moh', fields.ForeignKeyField('models.Sound', source_field='moh_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('intro', fields.ForeignKeyField('models.Sound', source_field='intro_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('periodic', fields.ForeignKeyField('models.Sound', source_field='periodic_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('periodic_seconds', fields.IntField(default=40)),
                ('announce_position', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'queue', 'app': 'models', 'unique_together': (('tenant', 'extension'),), 'pk_attr': 'id', 'table_description': 'A call queue: an extension of the tenant that the media application answers,'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='QueueAgent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('queue', fields.ForeignKeyField('models.Queue', source_field='queue_id', db_constraint=True, to_field='id', related_name='agents', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('position', fields.IntField()),
                ('logged_in', fields.BooleanField(default=False)),
                ('logged_in_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'queue_agent', 'app': 'models', 'unique_together': (('queue', 'user'),), 'pk_attr': 'id', 'table_description': "A user who takes a queue's calls, in the queue's order, and whether they are"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='QueueCall',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('queue', fields.ForeignKeyField('models.Queue', source_field='queue_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('queue_extension', fields.CharField(max_length=5)),
                ('spool_id', fields.CharField(unique=True, max_length=64)),
                ('call_id', fields.CharField(max_length=255)),
                ('caller', fields.CharField(max_length=64)),
                ('caller_number', fields.CharField(null=True, max_length=20)),
                ('entered_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('left_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('outcome', fields.CharField(max_length=16)),
                ('agent', fields.ForeignKeyField('models.User', source_field='agent_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('agent_extension', fields.CharField(null=True, max_length=5)),
                ('wait_ms', fields.IntField()),
                ('talk_ms', fields.IntField(default=0)),
            ],
            options={'table': 'queue_call', 'app': 'models', 'pk_attr': 'id', 'table_description': "One caller's time in a queue, collected from the media application's records"},
            bases=['Model'],
        ),
        AddForeignKey(
            model_name='PhoneNumber',
            name='assigned_queue',
            field=fields.ForeignKeyField('models.Queue', source_field='assigned_queue_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT),
        ),
    ]
