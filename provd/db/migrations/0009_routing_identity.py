from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0008_numbers_carriers')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Carrier',
            name='probe_reason',
            field=fields.CharField(null=True, max_length=128),
        ),
        ops.AddField(
            model_name='Carrier',
            name='probe_status',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Carrier',
            name='probe_up',
            field=fields.BooleanField(null=True),
        ),
        ops.AddField(
            model_name='Carrier',
            name='probed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Tenant',
            name='country',
            field=fields.CharField(default='NL', db_default='NL', max_length=2),
        ),
        ops.AddField(
            model_name='Tenant',
            name='main_number',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='Tenant',
            name='number_display',
            field=fields.CharField(default='national', db_default='national', max_length=8),
        ),
        ops.AddField(
            model_name='User',
            name='hide_caller_id',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
