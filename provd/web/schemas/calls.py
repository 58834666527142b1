"""Call records: the detail list (a page, newest first) and the totals of a period."""

from __future__ import annotations

from pydantic import Field

from provd.web.contract import View


class CallRecord(View):
    id: int
    start: str = Field(description="When the call arrived (ISO 8601, UTC)")
    answer: str | None = Field(description="When it was answered; null: never")
    end: str
    duration: int = Field(description="Seconds from the answer")
    disposition: str = Field(description="answered, busy, no_answer, failed or blocked")
    reason: str = Field(description="Why it was not answered (provd's refusal or the reply)")
    call_type: str = Field(
        description="internal, inbound, national_fixed, mobile, international, premium,"
        " service or emergency"
    )
    caller: str
    callee: str
    dialled: str = Field(description="As dialled")
    number: str = Field(description="The tenant's number the call used, else the extension")
    user: str
    trunk: str
    group: str
    cost: str | None = Field(description="Decimal; null until rated")


class CallPage(View):
    total: int = Field(description="Records matching the filters")
    offset: int
    limit: int
    records: list[CallRecord]


class CallTotal(View):
    calls: int
    answered: int
    seconds: int
    cost: str


class CallNumberTypeTotal(CallTotal):
    number: str
    call_type: str


class CallTotals(View):
    period: str
    overall: CallTotal
    by_type: dict[str, CallTotal]
    by_number: dict[str, CallTotal]
    by_number_and_type: list[CallNumberTypeTotal]
