from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0014_call_records')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Rate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.CharField(max_length=32)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('match', fields.CharField(max_length=16)),
                ('price_per_minute', fields.DecimalField(max_digits=10, decimal_places=4)),
                ('setup_fee', fields.DecimalField(max_digits=10, decimal_places=4)),
                ('increment_first', fields.IntField(null=True)),
                ('increment_then', fields.IntField(null=True)),
                ('currency', fields.CharField(default='EUR', max_length=3)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'rate', 'app': 'models', 'unique_together': (('owner', 'match'),), 'pk_attr': 'id', 'table_description': "One price of the rate table: the platform's, or a tenant's override of it."},
            bases=['Model'],
        ),
    ]
