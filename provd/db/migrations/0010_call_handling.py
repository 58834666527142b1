from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0009_routing_identity')]

    initial = False

    operations = [
        ops.CreateModel(
            name='HuntGroup',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('extension', fields.CharField(max_length=5)),
                ('name', fields.CharField(max_length=64)),
                ('policy', fields.CharField(max_length=16)),
                ('ring_seconds', fields.IntField(default=15)),
                ('total_wait_seconds', fields.IntField(default=0)),
                ('overflow', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('last_answered_user', fields.ForeignKeyField('models.User', source_field='last_answered_user_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'hunt_group', 'app': 'models', 'unique_together': (('tenant', 'extension'),), 'pk_attr': 'id', 'table_description': 'An extension that rings its members by a policy, then overflows.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='HuntGroupMember',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('group', fields.ForeignKeyField('models.HuntGroup', source_field='group_id', db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('external_number', fields.CharField(null=True, max_length=16)),
            ],
            options={'table': 'hunt_group_member', 'app': 'models', 'unique_together': (('group', 'user'),), 'pk_attr': 'id', 'table_description': 'One member of a group, in ring order: a user of its tenant or an outside number.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Schedule',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=64)),
                ('rules', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('holidays', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('override_state', fields.CharField(null=True, max_length=8)),
                ('override_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'schedule', 'app': 'models', 'unique_together': (('tenant', 'name'),), 'pk_attr': 'id', 'table_description': "A tenant's opening hours: weekly rules, holidays and the night switch."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IncomingBlock',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('anonymous', fields.BooleanField(default=False)),
                ('pattern', fields.CharField(null=True, max_length=16)),
                ('is_prefix', fields.BooleanField(default=False)),
                ('schedule', fields.ForeignKeyField('models.Schedule', source_field='schedule_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('when_state', fields.CharField(null=True, max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'incoming_block', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Calls refused before they ring: anonymous callers, or a number or prefix.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ScheduledRoute',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=64)),
                ('schedule', fields.ForeignKeyField('models.Schedule', source_field='schedule_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('open_destination', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('closed_destination', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('holiday_destination', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'scheduled_route', 'app': 'models', 'unique_together': (('tenant', 'name'),), 'pk_attr': 'id', 'table_description': 'A number plan: one destination per state of a schedule (open, closed, holiday).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='PhoneNumber',
            name='assigned_group',
            field=fields.ForeignKeyField('models.HuntGroup', source_field='assigned_group_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='PhoneNumber',
            name='assigned_route',
            field=fields.ForeignKeyField('models.ScheduledRoute', source_field='assigned_route_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='User',
            name='dnd',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='User',
            name='forward_always',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='User',
            name='forward_busy',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='User',
            name='forward_no_answer',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='User',
            name='forward_no_answer_seconds',
            field=fields.IntField(default=20, db_default=20),
        ),
        ops.AddField(
            model_name='User',
            name='forward_unreachable',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
