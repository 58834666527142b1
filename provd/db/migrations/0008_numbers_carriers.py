from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_audit_client_request_id')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Carrier',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=40)),
                ('host', fields.CharField(max_length=253)),
                ('port', fields.IntField()),
                ('transport', fields.CharField(max_length=3)),
                ('username', fields.CharField(null=True, max_length=64)),
                ('password_enc', fields.BinaryField(null=True)),
                ('inbound_from', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('priority', fields.IntField(default=10)),
                ('enabled', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'carrier', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An upstream SIP provider that reaches the telephone network.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PhoneNumber',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('e164', fields.CharField(unique=True, max_length=16)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('block_first', fields.CharField(db_index=True, max_length=16)),
                ('block_count', fields.IntField()),
                ('assigned_user', fields.ForeignKeyField('models.User', source_field='assigned_user_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'phone_number', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One number (E.164) of a block a tenant owns: a row per number, each assigned alone.'},
            bases=['Model'],
        ),
    ]
