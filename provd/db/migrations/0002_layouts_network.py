from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='KeySetting',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.CharField(max_length=32)),
                ('level', fields.IntField()),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('device', fields.ForeignKeyField('models.Device', source_field='device_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('model', fields.CharField(max_length=32)),
                ('location', fields.CharField(max_length=16)),
                ('function', fields.CharField(max_length=16)),
                ('target', fields.CharField(default='', max_length=512)),
                ('target_user', fields.ForeignKeyField('models.User', source_field='target_user_id', null=True, db_constraint=True, to_field='id', related_name='watched_by', on_delete=OnDelete.RESTRICT)),
                ('label', fields.CharField(default='', max_length=32)),
                ('locked', fields.BooleanField(default=False)),
            ],
            options={'table': 'key_setting', 'app': 'models', 'unique_together': (('owner', 'model', 'location'),), 'pk_attr': 'id', 'table_description': 'One programmed key of a layout.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PageLabel',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.CharField(max_length=32)),
                ('level', fields.IntField()),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('device', fields.ForeignKeyField('models.Device', source_field='device_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('model', fields.CharField(max_length=32)),
                ('module', fields.IntField()),
                ('page', fields.IntField()),
                ('text', fields.CharField(max_length=64)),
            ],
            options={'table': 'page_label', 'app': 'models', 'unique_together': (('owner', 'model', 'module', 'page'),), 'pk_attr': 'id', 'table_description': 'The description of one expansion-module page in a layout.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Device',
            name='expansion_modules',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='Device',
            name='lldp',
            field=fields.BooleanField(null=True),
        ),
        ops.AddField(
            model_name='Device',
            name='vlan_lan',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='Device',
            name='vlan_pc',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='Tenant',
            name='lldp',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='Tenant',
            name='pickup_code',
            field=fields.CharField(default='*8', max_length=8),
        ),
        ops.AddField(
            model_name='Tenant',
            name='sip_proxy',
            field=fields.CharField(null=True, max_length=262),
        ),
        ops.AddField(
            model_name='Tenant',
            name='vlan_lan',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='Tenant',
            name='vlan_pc',
            field=fields.CharField(null=True, max_length=16),
        ),
    ]
