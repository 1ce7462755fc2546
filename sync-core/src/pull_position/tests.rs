//! Unit tests of pull positions: window bounds, the steps between positions, the checks, and
//! how positions are saved.

use serde_json::json;

use super::*;
use crate::query::odata::odata_filter;
use crate::Record;

fn row(id: &str, updated_at: &str) -> Record {
    Record::from_json(json!({"id": id, "updatedAt": updated_at, "version": "v"})).unwrap()
}

fn window(around: &str, after: Option<&str>) -> Position {
    Position::Window { around: around.into(), after_id: after.map(str::to_owned) }
}

#[test]
fn the_window_is_one_unit_of_the_last_digit_either_side() {
    let text = |p: Position| odata_filter(&p.filter().unwrap().unwrap());
    assert_eq!(
        text(window("2024-01-01T00:00:00.000Z", None)),
        "((updatedAt gt datetimeoffset'2023-12-31T23:59:59.999Z') and \
         (updatedAt lt datetimeoffset'2024-01-01T00:00:00.001Z'))"
    );
    assert_eq!(
        text(Position::Past { around: "2024-01-01T00:00:05Z".into() }),
        "(updatedAt ge datetimeoffset'2024-01-01T00:00:06Z')",
        "a server that sends whole seconds steps by a second"
    );
    assert_eq!(
        text(Position::Past { around: "2024-01-01T00:00:00.12+00:00".into() }),
        "(updatedAt ge datetimeoffset'2024-01-01T00:00:00.130Z')",
        "two digits step by 10 ms"
    );
    assert!(Position::Start.filter().unwrap().is_none());
    let bad = window("yesterday", None).filter().unwrap_err();
    assert!(bad.to_string().contains("not a date-time"), "{bad}");
    let end = Position::Past { around: "+262142-12-31T23:59:59.999Z".into() }.filter();
    assert!(end.is_err(), "the end of time is a protocol error, not a panic");
}

#[test]
fn a_full_page_opens_a_window_unless_timestamps_are_exact() {
    let rows = [row("b", "2024-01-01T00:00:00.001Z"), row("a", "2024-01-01T00:00:00.002Z")];
    let next = Position::Start.after_page(&rows, true, false).unwrap();
    assert_eq!(next, Some(window("2024-01-01T00:00:00.002Z", None)));
    let next = Position::Start.after_page(&rows, true, true).unwrap();
    assert_eq!(next, Some(Position::Keyset(Cursor { updated_at: "2024-01-01T00:00:00.002Z".into(), id: "a".into() })));
    assert_eq!(Position::Start.after_page(&rows, false, false).unwrap(), None, "a short page is the last");
}

#[test]
fn a_window_pages_by_id_then_goes_past_its_timestamp() {
    let around = "2024-01-01T00:00:00.002Z";
    let rows = [row("a", around), row("c", around)];
    assert_eq!(window(around, None).after_page(&rows, true, false).unwrap(), Some(window(around, Some("c"))));
    let past = Some(Position::Past { around: around.into() });
    assert_eq!(window(around, Some("c")).after_page(&rows[..1], false, false).unwrap(), past);
    assert_eq!(
        window(around, Some("c")).after_page::<Record>(&[], false, false).unwrap(),
        past,
        "an empty window ends too"
    );
}

#[test]
fn the_last_page_saves_a_keyset_cursor_or_the_position_past_its_timestamp() {
    let rows = [row("z", "2024-01-01T00:00:00.002Z")];
    let keyset = Position::Keyset(Cursor { updated_at: "2024-01-01T00:00:00.002Z".into(), id: "z".into() });
    assert_eq!(Position::Start.final_after(&rows, true), keyset);
    assert_eq!(Position::Start.final_after(&rows, false), Position::Past { around: "2024-01-01T00:00:00.002Z".into() });
    assert_eq!(keyset.final_after::<Record>(&[], false), keyset, "an empty last page keeps what was saved");
}

#[test]
fn checks_catch_a_server_that_ignores_the_window_or_the_order() {
    let around = "2024-01-01T00:00:00.500Z";
    let ok_rows = [row("a", "2024-01-01T00:00:00.499Z"), row("b", around), row("c", "2024-01-01T00:00:00.501Z")];
    window(around, None).check_page(&ok_rows, false).unwrap();
    let outside = [row("a", "2024-01-01T00:00:00.502Z")];
    let e = window(around, None).check_page(&outside, false).unwrap_err();
    assert!(e.to_string().contains("outside the window"), "{e}");
    let again = [row("b", around)];
    let e = window(around, Some("b")).check_page(&again, false).unwrap_err();
    assert!(e.to_string().contains("ignores the id filter"), "{e}");
    let unordered = [row("c", around), row("a", around)];
    assert!(window(around, None).check_page(&unordered, false).is_err(), "a window page must be in id order");
    let case_blind = [row("a", around), row("B", around), row("c", around)];
    window(around, None).check_page(&case_blind, false).expect("a collation that ignores case is an order too");

    // By (updatedAt, id) on a finer server: equal sent timestamps in any id order are fine,
    // older after newer is not.
    let finer = [row("b", around), row("a", around)];
    Position::Start.check_page(&finer, false).unwrap();
    assert!(Position::Start.check_page(&finer, true).is_err(), "an exact server sorts by id within a timestamp");
    let backwards = [row("a", "2024-01-01T00:00:00.501Z"), row("b", around)];
    assert!(Position::Start.check_page(&backwards, false).is_err());
    let before = [row("a", around)];
    let e = Position::Past { around: around.into() }.check_page(&before, false).unwrap_err();
    assert!(e.to_string().contains("ignores the $filter"), "{e}");
}

#[test]
fn a_keyset_position_is_saved_exactly_as_a_cursor_is() {
    let cursor = Cursor { updated_at: "2024-01-01T00:00:00.002Z".into(), id: "z".into() };
    let saved = Position::Keyset(cursor.clone()).encode().unwrap();
    assert_eq!(saved, serde_json::to_string(&cursor).unwrap(), "older versions read it as a cursor");
    assert_eq!(
        Position::decode(r#"{"updatedAt":"T","id":"i"}"#),
        Position::Keyset(Cursor { updated_at: "T".into(), id: "i".into() })
    );
    assert_eq!(Position::decode("not json"), Position::Start, "unreadable is the start: a re-download, never a skip");
    assert_eq!(Position::Start.encode(), None);
    for position in [
        Position::Keyset(cursor),
        window("2024-01-01T00:00:00.002Z", None),
        window("2024-01-01T00:00:00.002Z", Some("m")),
        Position::Past { around: "2024-01-01T00:00:00.002Z".into() },
    ] {
        assert_eq!(Position::decode(&position.encode().unwrap()), position);
    }
    assert_eq!(
        window("T", Some("m")).for_exact_remote(),
        Position::Keyset(Cursor { updated_at: "T".into(), id: "m".into() }),
        "an exact remote reads a window as the keyset within that timestamp"
    );
}
