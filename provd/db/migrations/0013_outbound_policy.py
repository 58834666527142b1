from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0012_trunks')]

    initial = False

    operations: list[ops.Operation] = []
