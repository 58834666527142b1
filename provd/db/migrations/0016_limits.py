from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0015_rates')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SpendLimit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.CharField(unique=True, max_length=32)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('trunk', fields.ForeignKeyField('models.Trunk', source_field='trunk_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('limits', fields.JSONField(null=True)),
                ('alert_email', fields.CharField(null=True, max_length=254)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'spend_limit', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The spend and call limits of a tenant or of one of its trunks.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LimitAlert',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=160)),
                ('level', fields.CharField(max_length=80)),
                ('kind', fields.CharField(max_length=8)),
                ('window', fields.CharField(max_length=8)),
                ('window_start', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('percent', fields.IntField()),
                ('used', fields.DecimalField(max_digits=14, decimal_places=4)),
                ('limit', fields.DecimalField(max_digits=14, decimal_places=4)),
                ('recipient', fields.CharField(default='', max_length=254)),
                ('delivered', fields.BooleanField(default=False)),
                ('error', fields.CharField(default='', max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'limit_alert', 'app': 'models', 'unique_together': (('tenant', 'key'),), 'pk_attr': 'id', 'table_description': 'An alert at 80 or 95 percent of one limit in one window.'},
            bases=['Model'],
        ),
    ]
