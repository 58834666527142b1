from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_discovered_hostname')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ProvisioningToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('device', fields.ForeignKeyField('models.Device', source_field='device_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('username', fields.CharField(unique=True, max_length=40)),
                ('password_enc', fields.BinaryField()),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'provisioning_token', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A single-use credential that a plug-and-play NOTIFY hands one unsealed device.'},
            bases=['Model'],
        ),
    ]
