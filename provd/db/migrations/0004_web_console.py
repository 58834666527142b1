from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_firmware_rollouts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Account',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=64)),
                ('display_name', fields.CharField(default='', max_length=64)),
                ('password_hash', fields.CharField(max_length=255)),
                ('role', fields.CharField(max_length=16)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('last_sign_in_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'account', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A person who signs in to the web console: an admin or an installer.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DiscoveredDevice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('mac', fields.CharField(unique=True, max_length=12)),
                ('ip', fields.CharField(null=True, max_length=45)),
                ('source', fields.CharField(max_length=8)),
                ('vendor', fields.CharField(null=True, max_length=16)),
                ('model', fields.CharField(null=True, max_length=32)),
                ('vendor_class', fields.CharField(null=True, max_length=128)),
                ('requested_options', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('user_agent', fields.CharField(null=True, max_length=255)),
                ('first_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('seen_count', fields.IntField(default=1)),
            ],
            options={'table': 'discovered_device', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A phone seen on the network (DHCP request or SIP PnP) that may not be claimed yet.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_sha256', fields.CharField(unique=True, max_length=64)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('csrf_token', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'web_session', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A signed-in browser. Only the SHA-256 of the cookie value is stored.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ApiToken',
            name='tenant',
            field=fields.ForeignKeyField('models.Tenant', source_field='tenant_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE),
        ),
    ]
