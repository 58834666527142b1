from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='ApiToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('token_sha256', fields.CharField(unique=True, max_length=64)),
                ('role', fields.CharField(default='admin', max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_token', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A bearer token for the REST API. Only its SHA-256 is stored.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('actor', fields.CharField(max_length=128)),
                ('request_id', fields.CharField(null=True, max_length=64)),
                ('action', fields.CharField(max_length=64)),
                ('object_type', fields.CharField(max_length=32)),
                ('object_key', fields.CharField(max_length=128)),
                ('before', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('after', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'audit_entry', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One row per state change: who, what, before and after (secrets redacted).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Tenant',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=40)),
                ('name', fields.CharField(max_length=128)),
                ('sip_domain', fields.CharField(unique=True, max_length=253)),
                ('timezone', fields.CharField(default='Europe/Amsterdam', max_length=64)),
                ('bootstrap_username', fields.CharField(unique=True, max_length=64)),
                ('bootstrap_password_enc', fields.BinaryField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'tenant', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Device',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='devices', on_delete=OnDelete.RESTRICT)),
                ('mac', fields.CharField(unique=True, max_length=12)),
                ('vendor', fields.CharField(max_length=16)),
                ('model', fields.CharField(max_length=32)),
                ('name', fields.CharField(default='', max_length=64)),
                ('prov_username', fields.CharField(unique=True, max_length=64)),
                ('prov_password_enc', fields.BinaryField()),
                ('admin_password_enc', fields.BinaryField()),
                ('sealed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_fetch_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_fetch_ip', fields.CharField(null=True, max_length=45)),
                ('last_user_agent', fields.CharField(null=True, max_length=255)),
                ('reported_firmware', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'device', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='users', on_delete=OnDelete.RESTRICT)),
                ('extension', fields.CharField(max_length=5)),
                ('display_name', fields.CharField(max_length=64)),
                ('sip_username', fields.CharField(max_length=64)),
                ('sip_password_enc', fields.BinaryField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'user', 'app': 'models', 'unique_together': (('tenant', 'extension'), ('tenant', 'sip_username')), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DeviceLine',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('device', fields.ForeignKeyField('models.Device', source_field='device_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('slot', fields.IntField()),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'device_line', 'app': 'models', 'unique_together': (('device', 'slot'),), 'pk_attr': 'id', 'table_description': "A user's SIP account placed on a line slot (1-based) of a device."},
            bases=['Model'],
        ),
    ]
