"""Call queues in a real Chromium against a real ``provd serve``: an admin adds a queue
(its bad first agent shown on the field with nothing stored), adds a second agent at
the top, logs one in and sees what the media application says is happening (callers
waiting, an agent on a queue call) with the day's figures, sends a number to it on
the numbers page, and removes it once the number is released."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from playwright.sync_api import Page

from provd.media import queue_files
from tests.browser.harness import Provd, screenshot, sign_in

NUMBER = "+31201234504"


def _go(page: Page, label: str, path: str) -> None:
    page.click(f"nav a[href='{path}']")
    page.wait_for_url(f"**{path}")
    assert page.locator("h1").inner_text().startswith(label)


def test_an_admin_sets_up_a_queue_and_its_agents_from_the_console(
    page: Page, provd_server: Provd
) -> None:
    for extension, name in (("201", "Reception"), ("202", "Operator")):
        provd_server.cli("user", "add", "--extension", extension, "--name", name)
    provd_server.cli("number", "add", "020 123 4500", "--count", "10")
    domain = provd_server.cli("tenant", "show", "default")["sip_domain"]
    sign_in(page, provd_server)
    page.goto(provd_server.base_url + "/console/")
    page.on("dialog", lambda dialog: dialog.accept())

    _go(page, "Queues", "/console/queues")
    page.fill("#a-extension", "800")
    page.fill("#a-name", "Support")
    page.fill("#a-agent", "299")
    page.select_option("#a-strategy", "longest_idle")
    page.select_option("#a-failover-kind", "voicemail")
    page.fill("#a-failover-key", "201")
    page.click("#add-queue button[type=submit]")
    page.wait_for_load_state()
    assert "user '299 in tenant default' not found" in page.inner_text("#a-e-agents")
    assert page.input_value("#a-name") == "Support"
    assert page.locator("tr[data-queue]").count() == 0
    assert provd_server.cli("queues", "list", "default") == []

    page.fill("#a-agent", "201")
    page.click("#add-queue button[type=submit]")
    page.wait_for_url("**/console/queues?*added=800*")
    assert "Queue 800 added." in page.inner_text(".flash.ok")
    card = page.locator("section[data-queue='800']")
    card.locator("input[name=agent]").fill("202")
    card.locator("input[name=position]").fill("1")
    card.locator("form.agents-edit button").click()
    page.wait_for_url("**/console/queues?*agents=800*")
    card = page.locator("section[data-queue='800']")
    assert card.locator("table.agents tr[data-agent] td:nth-child(2)").all_inner_texts() == [
        "202 Operator",
        "201 Reception",
    ]
    card.locator("tr[data-agent='201'] form.agent-login button").click()
    page.wait_for_url("**/console/queues?*logged_in=*")
    assert "Agent 201 of queue 800 logged in." in page.inner_text(".flash.ok")

    # What the media application says is happening in the queue.
    media = provd_server.data_dir / "pbx" / "media"
    queue_files.write_live(
        media,
        datetime.now(UTC),
        {domain: {"800": queue_files.LiveQueue(2, 35.0, {"201": "talking"})}},
    )
    page.reload()
    row = page.locator("tr[data-queue='800'] td").all_inner_texts()
    assert row == ["800", "Support", "longest_idle", "2", "35.0 s", "1 of 2", "0",
                   "voicemail 201 (Reception)"]  # fmt: skip
    card = page.locator("section[data-queue='800']")
    assert card.locator("tr[data-agent='201'] td.state").inner_text() == (
        "logged in on a queue call"
    )
    assert card.locator("table.figures tr[data-period='today'] td").all_inner_texts() == [
        "0", "0", "0", "0.0 s", "0.0 s",
    ]  # fmt: skip
    screenshot(page, "console-queues")

    _go(page, "Numbers", "/console/numbers")
    number = page.locator(f"tr[data-number='{NUMBER}']")
    number.locator("select[name=target]").select_option("queue:800")
    number.locator("button[type=submit]").click()
    page.wait_for_url("**/console/numbers?assigned=*")
    assert page.locator(f"tr[data-number='{NUMBER}'] td.use").inner_text() == (
        "in use by queue 800 (Support)"
    )

    _go(page, "Queues", "/console/queues")
    page.click("section[data-queue='800'] form.queue-remove button")
    page.wait_for_load_state()
    refusal = page.inner_text(".flash.error")
    assert refusal.startswith("Queue 800 was kept") and NUMBER in refusal, refusal
    page.goto(provd_server.base_url + "/console/numbers")
    page.click(f"tr[data-number='{NUMBER}'] form.release-form button")
    page.wait_for_url("**/console/numbers?released=*")
    _go(page, "Queues", "/console/queues")
    page.click("section[data-queue='800'] form.queue-remove button")
    page.wait_for_url("**/console/queues?*removed=800*")
    assert page.locator("tr[data-queue]").count() == 0
    assert json.dumps(provd_server.cli("queues", "list", "default")) == "[]"
