import pytest

from provd.domain.call_types import CallType, destination_type


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+31201234567", CallType.FIXED),
        ("+31881234567", CallType.FIXED),  # company-wide number (UAN)
        ("+31612345678", CallType.MOBILE),
        ("+319001234567", CallType.PREMIUM),
        ("+319061234567", CallType.PREMIUM),
        ("+319091234567", CallType.PREMIUM),
        ("+31800123456", CallType.SERVICE),
        ("+442071234567", CallType.INTERNATIONAL),
        ("+881612345678", CallType.INTERNATIONAL),
    ],
)
def test_destination_type_from_the_netherlands(number: str, expected: CallType) -> None:
    assert destination_type(number, "NL") is expected


def test_a_number_of_the_own_country_is_not_international_seen_from_there() -> None:
    assert destination_type("+442071234567", "GB") is CallType.FIXED
    assert destination_type("+31201234567", "BE") is CallType.INTERNATIONAL
