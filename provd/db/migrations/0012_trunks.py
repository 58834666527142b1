from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0011_night_switch_right')]

    initial = False

    operations: list[ops.Operation] = []
