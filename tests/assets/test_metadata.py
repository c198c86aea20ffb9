from assets.ingest import RateProblem
from assets.metadata import errors_table, sync_errors_table
from resources.state import SyncError


def test_sync_errors_show_their_record_and_intercoms_request_id():
    error = SyncError("event", "u_1:evt_9", "customer", 404, "not_found", "User Not Found", "req-123")
    (row,) = sync_errors_table([error]).records
    assert row.data == {
        "record_key": "u_1:evt_9",
        "field": "customer",
        "status": "404",
        "code": "not_found",
        "message": "User Not Found",
        "request_id": "req-123",
    }


def test_record_problems_show_record_field_and_message_and_at_most_fifty():
    problems = [RateProblem(f"c{i:02d}", "rate", "must be a positive number") for i in range(60)]
    table = errors_table(problems)
    assert len(table.records) == 50
    assert table.records[0].data == {"record": "c00", "field": "rate", "message": "must be a positive number"}
