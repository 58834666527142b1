"""The collector on the production path: provd and Kamailio on one PostgreSQL database,
acc's rows read with their times (timestamps there, not Julian days) as UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from provd.db.connection import database, upgrade_schema
from provd.db.models import CallRecord, Tenant
from provd.pbx.call_records import RESTART_REASON
from provd.pbx.database import PostgresKamailioDb
from provd.pbx.schema import ensure_schema
from provd.services.calls.collector import CallCollector
from tests.pg import create_database

ANSWER = datetime(2026, 12, 6, 18, 26, 14, tzinfo=UTC)


async def test_rows_written_to_postgresql_are_collected_once(postgres_server: str) -> None:
    url = create_database(postgres_server, "provd_calls")
    await upgrade_schema(url)
    db = PostgresKamailioDb(url)
    try:
        await ensure_schema(db)
        pool = await db._get_pool()
        plan = "'acme', 'mobile', '2000', '+31612345678', '0612345678', '+31201234501', '2000'"
        columns = "tenant, call_type, caller, callee, dialled, tenant_number, src_user"
        await pool.execute(
            f"INSERT INTO acc (method, from_tag, to_tag, callid, sip_code, sip_reason, time,"
            f" setup_time, {columns}) VALUES ('INVITE', 'f', 't', 'a@x', '200', 'OK',"
            f" '2026-12-06 18:26:14', '{ANSWER.timestamp() - 2}', {plan}),"
            f" ('INVITE', 'f', NULL, 'b@x', '486', 'Busy Here', '2026-12-06 18:30:00',"
            f" NULL, {plan})"
        )
        await pool.execute(
            f"INSERT INTO acc_cdrs (start_time, end_time, duration, callid, setup_time,"
            f" {columns}) VALUES ('2026-12-06 18:26:14', '2026-12-06 18:26:17', 3.033, 'a@x',"
            f" '{ANSWER.timestamp() - 2}', {plan})"
        )
        async with database(url):
            await Tenant.create(
                slug="acme", name="Acme", sip_domain="acme.test",
                bootstrap_username="boot-acme", bootstrap_password_enc=b"x",
            )  # fmt: skip
            assert await CallCollector(db).collect() == 2
            assert await CallCollector(db).collect() == 0
            answered = await CallRecord.get(callid="a@x")
            busy = await CallRecord.get(callid="b@x")
            # A month and more later, the rows read are deleted from Kamailio's tables.
            assert await CallCollector(db).prune(ANSWER.timestamp() + 40 * 86400) == 3
            assert await pool.fetchval("SELECT COUNT(*) FROM acc") == 0
    finally:
        await db.close()
    assert (answered.disposition, answered.duration) == ("answered", 3)
    assert answered.answered_at == ANSWER
    assert answered.started_at.timestamp() == ANSWER.timestamp() - 2
    assert (busy.disposition, busy.sip_code, busy.reason) == ("busy", 486, "Busy Here")
    assert busy.ended_at == datetime(2026, 12, 6, 18, 30, tzinfo=UTC)


async def test_a_call_cut_by_a_kamailio_restart_is_read_on_postgresql(
    postgres_server: str,
) -> None:
    url = create_database(postgres_server, "provd_calls_restart")
    await upgrade_schema(url)
    db = PostgresKamailioDb(url)
    restarted = ANSWER.timestamp() + 60

    async def started() -> float:
        return restarted

    try:
        await ensure_schema(db)
        pool = await db._get_pool()
        await pool.execute(
            "INSERT INTO acc (method, from_tag, to_tag, callid, sip_code, sip_reason, time,"
            " tenant, call_type, dialled) VALUES ('INVITE', 'f', 't', 'c@x', '200', 'OK',"
            " '2026-12-06 18:26:14', 'acme', 'mobile', '0612345678')"
        )
        async with database(url):
            await Tenant.create(
                slug="acme", name="Acme", sip_domain="acme.test",
                bootstrap_username="boot-acme", bootstrap_password_enc=b"x",
            )  # fmt: skip
            # Up until the restart: nothing to record while Kamailio is the same one.
            early = CallCollector(db, pbx_started=lambda: _at(ANSWER.timestamp() - 1))
            assert await early.collect() == 0
            assert await CallCollector(db, pbx_started=started).collect() == 1
            assert await CallCollector(db, pbx_started=started).collect() == 0
            record = await CallRecord.get(callid="c@x")
    finally:
        await db.close()
    assert (record.disposition, record.duration) == ("answered", 60)
    assert record.reason == RESTART_REASON
    assert record.answered_at == ANSWER


async def _at(value: float) -> float:
    return value
