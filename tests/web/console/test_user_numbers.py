"""The user page shows the user's numbers and the caller ID their outside calls
present: their own first number, else the tenant's main number, else none (only
emergency calls go out); and whether it is hidden."""

from __future__ import annotations

import html as html_lib
import re

from provd.db.models import Tenant, User
from provd.services import numbers
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.web.console.conftest import Console


def fact(page: str, dd_id: str) -> str:
    match = re.search(rf'<dd id="{dd_id}">(.*?)</dd>', page, re.S)
    assert match, dd_id
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


async def test_a_user_without_numbers_in_a_tenant_without_a_main_number(tara: Console) -> None:
    status, page = await tara.get("/console/users/acme/201")
    assert status == 200
    assert fact(page, "user-numbers") == "none"
    assert fact(page, "presented") == "none: cannot call out except emergency"
    assert fact(page, "hidden").startswith("no")


async def test_the_tenants_main_number_when_the_user_has_none(
    tara: Console, platform: Platform
) -> None:
    await Tenant.filter(slug="acme").update(main_number="+31201234500")
    _, page = await tara.get("/console/users/acme/201")
    assert fact(page, "presented") == "+31201234500 (0201234500), the tenant's main number"
    # A main number the tenant does not own is never presented (as routing decides).
    await Tenant.filter(slug="acme").update(main_number="+31201234513")
    _, page = await tara.get("/console/users/acme/201")
    assert fact(page, "presented") == "none: cannot call out except emergency"


async def test_the_users_first_own_number_and_hidden(tara: Console, platform: Platform) -> None:
    await Tenant.filter(slug="acme").update(main_number="+31201234500")
    for number in ("+31201234507", "+31201234503"):
        await numbers.assign(platform, TEST_ACTOR, number, "201", "acme")
    await numbers.assign(platform, TEST_ACTOR, "+31201234504", "202", "acme")
    await User.filter(extension="201").update(hide_caller_id=True)
    _, page = await tara.get("/console/users/acme/201")
    assert fact(page, "user-numbers") == "+31201234503 (0201234503) +31201234507 (0201234507)"
    assert fact(page, "presented") == "+31201234503 (0201234503), the user's own number"
    assert fact(page, "hidden").startswith("yes")
    _, page = await tara.get("/console/users/acme/202")
    assert fact(page, "user-numbers") == "+31201234504 (0201234504)"
    assert fact(page, "hidden").startswith("no")
