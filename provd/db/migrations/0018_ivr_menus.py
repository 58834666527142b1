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
    """AddField whose reversal works on SQLite: tortoise's SQLite editor, asked to drop a
    foreign key, remakes the table without the relation but with its ``_id`` column, so
    the column stayed and migrating forward again failed. The table is remade from the
    model as it was before instead."""

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
    dependencies = [('models', '0017_shared_state')]

    initial = False

    operations: list[ops.Operation] = [
        ops.CreateModel(
            name='Sound',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=100)),
                ('duration_ms', fields.IntField()),
                ('size', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'sound', 'app': 'models', 'unique_together': (('tenant', 'name'),), 'pk_attr': 'id', 'table_description': "A recording a tenant's IVR menus play. The audio is a file of the data directory"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Menu',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('extension', fields.CharField(max_length=5)),
                ('name', fields.CharField(max_length=64)),
                ('greeting', fields.ForeignKeyField('models.Sound', source_field='greeting_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('invalid_sound', fields.ForeignKeyField('models.Sound', source_field='invalid_sound_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('timeout_seconds', fields.IntField(default=5)),
                ('max_attempts', fields.IntField(default=3)),
                ('dial_length', fields.IntField(default=5)),
                ('default_destination', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('keys', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'menu', 'app': 'models', 'unique_together': (('tenant', 'extension'),), 'pk_attr': 'id', 'table_description': 'An IVR menu: an extension of the tenant that the media application answers.'},
            bases=['Model'],
        ),
        AddForeignKey(
            model_name='PhoneNumber',
            name='assigned_menu',
            field=fields.ForeignKeyField('models.Menu', source_field='assigned_menu_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT),
        ),
    ]
