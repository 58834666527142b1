from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0011_night_switch_right')]

    initial = False

    operations: list[ops.Operation] = [
        ops.CreateModel(
            name='Trunk',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=32)),
                ('channels', fields.IntField()),
                ('number_format', fields.CharField(default='e164', max_length=8)),
                ('brand', fields.CharField(default='other', max_length=16)),
                ('auth', fields.CharField(default='accounts', max_length=8)),
                ('networks', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('address', fields.CharField(null=True, max_length=262)),
                ('caller_id_policy', fields.CharField(default='replace', max_length=8)),
                ('main_number', fields.CharField(null=True, max_length=16)),
                ('failover', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('ring_seconds', fields.IntField(default=30)),
                ('enabled', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'trunk', 'app': 'models', 'unique_together': (('tenant', 'name'),), 'pk_attr': 'id', 'table_description': "A customer's own PBX connected as one SIP trunk (provd.domain.trunks has its rules)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TrunkAccount',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('trunk', fields.ForeignKeyField('models.Trunk', source_field='trunk_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('role', fields.CharField(max_length=16)),
                ('username', fields.CharField(max_length=64)),
                ('password_enc', fields.BinaryField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'trunk_account', 'app': 'models', 'unique_together': (('trunk', 'role'),), 'pk_attr': 'id', 'table_description': "One of a trunk's two registration accounts, its password only as ciphertext."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TrunkNumber',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('trunk', fields.ForeignKeyField('models.Trunk', source_field='trunk_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('number', fields.ForeignKeyField('models.PhoneNumber', source_field='number_id', unique=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('inbound', fields.BooleanField(default=False)),
                ('caller_id', fields.BooleanField(default=False)),
            ],
            options={'table': 'trunk_number', 'app': 'models', 'pk_attr': 'id', 'table_description': "A number of the trunk's tenant on the trunk: its DID and/or a caller ID it may send."},
            bases=['Model'],
        ),
        # Nullable without a default: existing numbers stay off any trunk.
        ops.AddField(
            model_name='PhoneNumber',
            name='assigned_trunk',
            field=fields.ForeignKeyField('models.Trunk', source_field='assigned_trunk_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT),
        ),
    ]
