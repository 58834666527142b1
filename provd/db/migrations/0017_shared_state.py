from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0016_limits')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuthFailures',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('failures', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('blocked_until', fields.FloatField(default=0.0)),
                ('strikes', fields.IntField(default=0)),
                ('last_block_end', fields.FloatField(default=0.0)),
                ('forget_at', fields.FloatField(db_index=True)),
                ('version', fields.IntField(default=0)),
            ],
            options={'table': 'auth_failures', 'app': 'models', 'pk_attr': 'key', 'table_description': 'The failed authentications of one throttled key, as every process sees them:'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='NonceClaim',
            fields=[
                ('nonce', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=48)),
                ('issued_ms', fields.BigIntField(db_index=True)),
                ('worker', fields.CharField(max_length=64)),
            ],
            options={'table': 'nonce_claim', 'app': 'models', 'pk_attr': 'nonce', 'table_description': "A digest nonce's first use, by the process that took it: a nonce is counted"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PlatformSecret',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('value_enc', fields.BinaryField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'platform_secret', 'app': 'models', 'pk_attr': 'name', 'table_description': 'A secret every provd process serving the platform must hold alike (the digest'},
            bases=['Model'],
        ),
    ]
