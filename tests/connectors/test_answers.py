"""Every API answer is checked before it is believed (connectors/answers.py): an answer that does not fit
is an error naming the call and what is missing, connection-class, and never repeating the answer's values."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from connectors import ConnectionFailed, UnexpectedAnswer
from connectors.answers import parse_answer, parse_json_answer
from partnerkpi.exit_codes import exit_code_of


class Page(BaseModel):
    totalSize: int
    done: bool
    records: list[dict[str, object]]


CALL = "GET /services/data/v59.0/query"


def test_an_answer_that_fits_is_read_into_its_model() -> None:
    page = parse_answer(Page, {"totalSize": 1, "done": True, "records": [{"Id": "006"}]}, CALL)
    assert page.totalSize == 1 and page.records == [{"Id": "006"}]


def test_an_empty_object_names_the_call_and_every_missing_field() -> None:
    with pytest.raises(UnexpectedAnswer) as caught:
        parse_answer(Page, {}, CALL)
    message = str(caught.value)
    assert message.startswith(f"unexpected answer to {CALL}:")
    for name in ("totalSize", "done", "records"):
        assert f"{name}: field required" in message


def test_an_unexpected_answer_is_connection_class_exit_3() -> None:
    assert issubclass(UnexpectedAnswer, ConnectionFailed)
    assert exit_code_of(UnexpectedAnswer(CALL, "x")) == 3


def test_the_message_never_repeats_a_value_of_the_answer() -> None:
    with pytest.raises(UnexpectedAnswer) as caught:
        parse_answer(Page, {"totalSize": "s3cr3t-token-value", "done": True, "records": []}, CALL)
    assert "s3cr3t" not in str(caught.value)
    assert "totalSize" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"<!DOCTYPE html><html><body>Maintenance</body></html>", "an HTML page"),
        (b'{"totalSize": 3, "records": [', "JSON cut short"),
        (b"", "empty"),
    ],
)
def test_a_body_that_is_not_json_says_what_it_looked_like(body: bytes, words: str) -> None:
    with pytest.raises(UnexpectedAnswer) as caught:
        parse_json_answer(Page, body, CALL)
    assert words in str(caught.value)
    assert CALL in str(caught.value)
