//! A batch of writes to distinct rows of a fixed-schema table, decided at once.
//!
//! When no two writes of a batch touch the same id, none of them can see another's effect: each
//! sees only the row as it was when the batch locked the table. So the backend can read every
//! row in one statement, decide here — with exactly the rules of a write alone
//! (`write_in` of each backend) — which writes fail (404, 409, 412) and which go ahead, and then
//! run only the ones that go ahead, as few multi-row statements. A failing write touches nothing,
//! so it needs no savepoint of its own.
//!
//! A batch with an id twice, or on a dynamic table (whose writes add the columns the next one is
//! checked against), runs write by write instead.

use std::collections::{HashMap, HashSet};

use super::{insert_conflict, is_deleted, owned, ColumnValue, Item, Write};
use crate::error::Error;
use crate::table::TableDef;

/// Whether the batch can be decided at once: a fixed-schema table, and no id twice among the
/// writes that reached the backend.
pub(crate) fn can_plan(table: &TableDef, writes: &[Result<Write, Error>]) -> bool {
    if table.dynamic {
        return false;
    }
    let mut seen = HashSet::with_capacity(writes.len());
    writes.iter().flatten().all(|w| seen.insert(w.id()))
}

/// The ids the writes touch, each once, in order.
pub(crate) fn ids(writes: &[Result<Write, Error>]) -> Vec<&str> {
    writes.iter().flatten().map(Write::id).collect()
}

/// Whether every write that reached the backend is an insert. Such a batch needs no read of its
/// rows: the backend plans it as if none of them were stored (an empty `current` for [`plan`]),
/// inserts with `ON CONFLICT ("id") DO NOTHING … RETURNING`, and answers each insert whose row
/// does not come back (its id was stored after all) with [`super::insert_conflict`] of the stored
/// row: the answers [`plan`] gives with the rows read first, one statement fewer for the
/// commonest batch (a client's new items).
pub(crate) fn only_inserts(writes: &[Result<Write, Error>]) -> bool {
    writes.iter().flatten().all(|w| matches!(w, Write::Insert { .. }))
}

/// A write that goes ahead.
#[derive(Debug)]
pub(crate) enum Action<'a> {
    /// A new row with these user columns.
    Insert {
        /// The id.
        id: &'a str,
        /// The user columns sent.
        values: &'a [ColumnValue],
    },
    /// `UPDATE … SET <values>[, deleted], updatedAt, version`.
    Update {
        /// The id.
        id: &'a str,
        /// The user columns that change.
        values: &'a [ColumnValue],
        /// The new `deleted` flag (delete, undelete), if it changes.
        deleted: Option<bool>,
    },
    /// A hard delete: the row goes, and the answer is the row as it was.
    Remove {
        /// The id.
        id: &'a str,
        /// The row before the delete.
        item: Item,
    },
}

impl Action<'_> {
    /// The id written.
    pub(crate) fn id(&self) -> &str {
        match self {
            Action::Insert { id, .. } | Action::Update { id, .. } | Action::Remove { id, .. } => id,
        }
    }
}

/// What each write of a batch comes to.
#[derive(Debug)]
pub(crate) struct Plan<'a> {
    /// Per write, in order: the index of its action in [`actions`](Self::actions), or its error.
    pub outcomes: Vec<Result<usize, Error>>,
    /// The writes that go ahead, in order; the `k`-th gets the `k`-th `updatedAt` the batch
    /// reserves, so their `updatedAt`s increase in the order of the writes.
    pub actions: Vec<Action<'a>>,
}

/// Decides every write against `current` (the stored rows of the written ids, deleted ones
/// included, read in the batch's transaction) as `write_in` would, one after another. The
/// writes must pass [`can_plan`].
pub(crate) fn plan<'a>(
    table: &TableDef,
    writes: &'a [Result<Write, Error>],
    current: &mut HashMap<String, Item>,
    owner: Option<&str>,
) -> Plan<'a> {
    let mut outcomes = Vec::with_capacity(writes.len());
    let mut actions = Vec::with_capacity(writes.len());
    for write in writes {
        let decided = match write {
            Ok(write) => decide(table, write, current.remove(write.id()), owner),
            Err(e) => Err(e.clone()),
        };
        outcomes.push(decided.map(|action| {
            actions.push(action);
            actions.len() - 1
        }));
    }
    Plan { outcomes, actions }
}

/// One write against its stored row: the rules of `write_in`, without the database.
fn decide<'a>(
    table: &TableDef,
    write: &'a Write,
    current: Option<Item>,
    owner: Option<&str>,
) -> Result<Action<'a>, Error> {
    let current = owned(write, current, owner)?;
    Ok(match write {
        Write::Insert { id, values } => {
            if let Some(existing) = current {
                return Err(Error::conflict(409, existing));
            }
            Action::Insert { id, values }
        }
        Write::Update { id, values, pre } => {
            let current = current.filter(|c| !is_deleted(c)).ok_or_else(Error::no_item)?;
            pre.check(&current)?;
            Action::Update { id, values, deleted: None }
        }
        Write::Delete { id, pre } => {
            let current = current.filter(|c| !is_deleted(c)).ok_or_else(Error::no_item)?;
            pre.check(&current)?;
            if table.options.soft_delete {
                Action::Update { id, values: &[], deleted: Some(true) }
            } else {
                Action::Remove { id, item: current }
            }
        }
        Write::Undelete { id, pre } => {
            let current = current.ok_or_else(Error::no_item)?;
            pre.check(&current)?;
            Action::Update { id, values: &[], deleted: Some(false) }
        }
    })
}

/// Runs of consecutive inserts that name the same columns, as index ranges of `actions`, each
/// at most `max_rows` long: one multi-row `INSERT` each.
pub(crate) fn insert_runs(actions: &[Action<'_>], max_rows: usize) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < actions.len() {
        let Action::Insert { values: first, .. } = &actions[i] else {
            i += 1;
            continue;
        };
        let mut end = i + 1;
        while end < actions.len() && end - i < max_rows.max(1) {
            match &actions[end] {
                Action::Insert { values, .. }
                    if values.len() == first.len() && values.iter().zip(*first).all(|(a, b)| a.name == b.name) =>
                {
                    end += 1
                }
                _ => break,
            }
        }
        runs.push(i..end);
        i = end;
    }
    runs
}

/// The ids of a run of inserts (`run`, indexes of `actions`) whose rows an `INSERT … ON CONFLICT
/// ("id") DO NOTHING RETURNING` did not return (`returned`, by id): ids stored after all (the
/// batch was planned without reading its rows, or a writer that does not take the clock, a seed,
/// inserted them meanwhile). The backend reads their rows in one statement, as a batch a client
/// retries after a lost answer may be all of them.
pub(crate) fn missing_ids<'a>(
    actions: &'a [Action<'_>],
    run: std::ops::Range<usize>,
    returned: &HashMap<String, Item>,
) -> Vec<&'a str> {
    run.map(|k| actions[k].id()).filter(|id| !returned.contains_key(*id)).collect()
}

/// Answers a run of inserts: each gets its returned row, or the conflict of its stored row
/// (`stored`, the rows of [`missing_ids`]; see [`insert_conflict`]).
pub(crate) fn answer_inserts(
    actions: &[Action<'_>],
    run: std::ops::Range<usize>,
    mut returned: HashMap<String, Item>,
    mut stored: HashMap<String, Item>,
    owner: Option<&str>,
    items: &mut [Option<Result<Item, Error>>],
) {
    for k in run {
        let id = actions[k].id();
        items[k] = Some(match (returned.remove(id), stored.remove(id)) {
            (Some(item), _) => Ok(item),
            (None, Some(existing)) => Err(insert_conflict(existing, owner)),
            (None, None) => Err(Error::internal("an inserted row is missing")),
        });
    }
}

/// The answers of a planned batch: each write's error, or the item its action produced
/// (`items[k]` for action `k`).
pub(crate) fn answers(
    outcomes: Vec<Result<usize, Error>>,
    mut items: Vec<Option<Result<Item, Error>>>,
) -> Vec<Result<Item, Error>> {
    outcomes
        .into_iter()
        .map(|o| {
            o.and_then(|k| {
                items
                    .get_mut(k)
                    .and_then(Option::take)
                    .unwrap_or_else(|| Err(Error::internal("a planned write has no answer")))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Precondition, SqlValue};
    use crate::table::TableOptions;
    use serde_json::json;

    fn table(soft_delete: bool) -> TableDef {
        TableDef {
            name: "T".into(),
            columns: vec![],
            dynamic: false,
            options: TableOptions { soft_delete, ..TableOptions::default() },
        }
    }

    fn row(id: &str, version: &str, deleted: bool) -> Item {
        json!({"id": id, "version": version, "deleted": deleted}).as_object().cloned().unwrap_or_default()
    }

    fn insert(id: &str, names: &[&str]) -> Write {
        let values = names
            .iter()
            .map(|n| ColumnValue { name: (*n).into(), ty: sync_core::ColumnType::String, value: SqlValue::Null })
            .collect();
        Write::Insert { id: id.into(), values }
    }

    #[test]
    fn a_batch_with_an_id_twice_or_on_a_dynamic_table_is_not_planned() {
        let twice = vec![Ok(insert("a", &[])), Err(Error::bad_request("x")), Ok(insert("a", &[]))];
        assert!(!can_plan(&table(true), &twice));
        let once = vec![Ok(insert("a", &[])), Ok(insert("b", &[]))];
        assert!(can_plan(&table(true), &once));
        let mut dynamic = table(true);
        dynamic.dynamic = true;
        assert!(!can_plan(&dynamic, &once));
    }

    #[test]
    fn failing_writes_get_their_errors_and_no_action() {
        let writes = vec![
            Ok(insert("new", &[])),
            Ok(insert("old", &[])),
            Ok(Write::Update { id: "old2".into(), values: vec![], pre: Precondition::IfMatch(vec!["nope".into()]) }),
            Err(Error::bad_request("bad body")),
            Ok(Write::Delete { id: "gone".into(), pre: Precondition::None }),
            Ok(Write::Undelete { id: "gone2".into(), pre: Precondition::None }),
            Ok(Write::Delete { id: "missing".into(), pre: Precondition::None }),
        ];
        let mut current = HashMap::from([
            ("old".to_owned(), row("old", "v1", false)),
            ("old2".to_owned(), row("old2", "v1", false)),
            ("gone".to_owned(), row("gone", "v1", true)),
            ("gone2".to_owned(), row("gone2", "v1", true)),
        ]);
        let plan = plan(&table(true), &writes, &mut current, None);
        let statuses: Vec<_> = plan.outcomes.iter().map(|o| o.as_ref().map_err(Error::status).copied()).collect();
        assert_eq!(statuses, vec![Ok(0), Err(409), Err(412), Err(400), Err(404), Ok(1), Err(404)]);
        assert!(matches!(plan.actions[1], Action::Update { id: "gone2", deleted: Some(false), .. }));
    }

    #[test]
    fn inserts_run_by_their_columns_and_size() {
        let writes = [insert("a", &["x"]), insert("b", &["x"]), insert("c", &["y"]), insert("d", &["y"])];
        let actions: Vec<_> = writes
            .iter()
            .map(|w| match w {
                Write::Insert { id, values } => Action::Insert { id, values },
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(insert_runs(&actions, 10), vec![0..2, 2..4]);
        assert_eq!(insert_runs(&actions, 1), vec![0..1, 1..2, 2..3, 3..4]);
    }
}
