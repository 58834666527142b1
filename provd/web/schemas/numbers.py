"""Telephone numbers: a tenant's blocks and what each number is used for."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from provd.web.contract import Body, View


class NumberBlockIn(Body):
    first: str = Field(description="The block's first number, in any notation (020 123 4500)")
    count: int = Field(default=1, description="1, 10 or 100; 10 and 100 start at a 0 or 00")
    tenant: str | None = Field(default=None, description="Default: default")


class NumberBlock(View):
    tenant: str
    first: str = Field(description="E.164")
    last: str = Field(description="E.164")
    count: int


class NumberUse(View):
    kind: Literal["user", "group", "route", "trunk", "menu", "announcement", "queue"] = Field(
        description="What the number is attached to"
    )
    key: str = Field(
        description="The user's, group's, menu's, announcement's or queue's extension, the"
        " route's name"
    )
    name: str


class Number(View):
    number: str = Field(description="E.164")
    national: str = Field(description="As dialled in the tenant's country (0201234567)")
    tenant: str
    block: str = Field(description="The first number of its block")
    block_size: int
    use: NumberUse | None = Field(description="null: unused")
    status: str = Field(
        description="'in use by user 201 (Front Desk)', 'in use by group 600 (Sales)',"
        " 'in use by route Main hours' or 'unused'"
    )


class AssignIn(Body):
    """Exactly one of user, group, route, menu, announcement and queue."""

    user: str | None = Field(default=None, description="A user's extension")
    group: str | None = Field(default=None, description="A hunt group's extension")
    route: str | None = Field(default=None, description="A scheduled route's name")
    menu: str | None = Field(default=None, description="An IVR menu's extension")
    announcement: str | None = Field(default=None, description="An announcement's extension")
    queue: str | None = Field(default=None, description="A call queue's extension")
