from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_layouts_network')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FirmwareImage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('sha256', fields.CharField(unique=True, max_length=64)),
                ('size', fields.BigIntField()),
                ('vendor', fields.CharField(max_length=16)),
                ('version', fields.CharField(max_length=64)),
                ('filename', fields.CharField(max_length=128)),
                ('models', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('release_notes', fields.TextField(default='', unique=False)),
                ('tested', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'firmware_image', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A firmware file in the content-addressed store (data dir ``firmware/<sha256>``).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FirmwarePin',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.CharField(max_length=32)),
                ('level', fields.IntField()),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('device', fields.ForeignKeyField('models.Device', source_field='device_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('model', fields.CharField(max_length=32)),
                ('image', fields.ForeignKeyField('models.FirmwareImage', source_field='image_id', db_constraint=True, to_field='id', related_name='pins', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'firmware_pin', 'app': 'models', 'unique_together': (('owner', 'model'),), 'pk_attr': 'id', 'table_description': 'The firmware chosen for a model at one level: platform, tenant or device.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Rollout',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('state', fields.CharField(max_length=16)),
                ('created_by', fields.CharField(max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('target_image', fields.ForeignKeyField('models.FirmwareImage', source_field='target_image_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('selection', fields.CharField(default='', max_length=255)),
                ('batch_size', fields.IntField(default=10)),
                ('canary_size', fields.IntField(default=0)),
                ('concurrency', fields.IntField(default=10)),
                ('timeout_seconds', fields.IntField(default=900)),
                ('reason', fields.CharField(default='', max_length=255)),
            ],
            options={'table': 'rollout', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A bulk firmware update: its settings and overall state. Persisted so that a'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RolloutDevice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('rollout', fields.ForeignKeyField('models.Rollout', source_field='rollout_id', db_constraint=True, to_field='id', related_name='devices', on_delete=OnDelete.CASCADE)),
                ('device', fields.ForeignKeyField('models.Device', source_field='device_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('mac', fields.CharField(max_length=12)),
                ('position', fields.IntField()),
                ('batch', fields.IntField()),
                ('state', fields.CharField(max_length=16)),
                ('target_version', fields.CharField(default='', max_length=64)),
                ('target_image', fields.ForeignKeyField('models.FirmwareImage', source_field='target_image_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('reason', fields.CharField(default='', max_length=255)),
                ('notified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('fetched_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'rollout_device', 'app': 'models', 'unique_together': (('rollout', 'mac'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Device',
            name='reported_firmware_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Device',
            name='sip_firmware',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Device',
            name='sip_firmware_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
