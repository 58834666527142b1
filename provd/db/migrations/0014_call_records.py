from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [('models', '0013_outbound_policy')]

    initial = False

    operations: list[ops.Operation] = [
        # Call records: written by the collector from Kamailio's acc tables.
        ops.CreateModel(
            name='CallCollectorMark',
            fields=[
                ('source', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=8)),
                ('last_id', fields.BigIntField(default=0)),
            ],
            options={'table': 'call_collector_mark', 'app': 'models', 'pk_attr': 'source', 'table_description': 'How far the collector has read each Kamailio table (the highest row id).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CallRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('source', fields.CharField(max_length=8)),
                ('source_id', fields.BigIntField()),
                ('callid', fields.CharField(max_length=255)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('duration', fields.IntField()),
                ('disposition', fields.CharField(max_length=16)),
                ('sip_code', fields.IntField(null=True)),
                ('reason', fields.CharField(default='', max_length=128)),
                ('call_type', fields.CharField(max_length=16)),
                ('caller', fields.CharField(default='', max_length=64)),
                ('callee', fields.CharField(default='', max_length=64)),
                ('dialled', fields.CharField(default='', max_length=64)),
                ('number', fields.CharField(default='', max_length=64)),
                ('user_ext', fields.CharField(default='', max_length=64)),
                ('trunk', fields.CharField(default='', max_length=64)),
                ('group_ext', fields.CharField(default='', max_length=64)),
                ('cost', fields.DecimalField(null=True, max_digits=12, decimal_places=4)),
            ],
            options={'table': 'call_record', 'app': 'models', 'unique_together': (('source', 'callid'),), 'indexes': [Index(fields=['tenant_id', 'started_at', 'call_type', 'number', 'disposition', 'duration', 'cost', 'caller', 'callee']), Index(fields=['tenant_id', 'call_type', 'started_at'])], 'pk_attr': 'id', 'table_description': "One call, copied from Kamailio's accounting (services/calls/collector.py)."},
            bases=['Model'],
        ),
    ]

