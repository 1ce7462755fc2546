//! # sync-server
//!
//! A server for the Azure Mobile Apps table REST protocol (`ZUMO-API-VERSION: 2.0.0`), the one the
//! official offline clients and this workspace's `backend-azure-rest` speak, on axum and sqlx with
//! SQLite or PostgreSQL. It behaves like the official Node server (npm `azure-mobile-apps` 4.0.2, `tests/server`),
//! except where that server is wrong (see "Differences from the Node server" below).
//!
//! ```text
//! cargo run --release -p sync-server -- [--listen ADDR] [--db FILE | --database-url postgres://…]
//!     [--config FILE] [--table NAME]...
//! ```
//!
//! As a library: [`Server::builder`] takes tables from `#[derive(SyncEntity)]` schemas (the same
//! ones the client uses), a [`Config`] or dynamic names, and gives an axum `Router`
//! ([`Server::router`]).
//!
//! Map of the crate: [`server`] (the builder and the server), [`config`] (the TOML file),
//! [`odata`] (the `$filter` parser and the query options), [`error`] (request errors); inside,
//! the HTTP layer, the protocol's body and header rules, and the storage boundary (a small
//! trait with a SQLite and a PostgreSQL implementation). With the feature `test-postgres`,
//! [`test_postgres`] runs a throw-away PostgreSQL server for tests.
//!
//! # PostgreSQL
//! `--database-url postgres://user:password@host:port/database` (or
//! [`ServerBuilder::database_url`]) stores the tables in PostgreSQL (11 or later), and several
//! servers may serve one database behind a load balancer: they keep no state of their own.
//! - The server's own tables (`__sync_clock`, `__sync_migrations`) and two text domains
//!   (`sync_datetime`, `sync_json`) come from embedded migrations (`migrations/postgres/`),
//!   applied under sqlx's advisory lock. The synced tables are created or extended from the
//!   configuration at start-up, and dynamic tables add columns with `ALTER TABLE … ADD COLUMN IF
//!   NOT EXISTS`; both under a per-table advisory lock, so servers doing it at once take turns.
//! - Every write is one transaction that first locks its table's row in `__sync_clock`
//!   (`INSERT … ON CONFLICT DO UPDATE … RETURNING`), which yields the new `updatedAt`, then reads
//!   the row `FOR UPDATE`, checks `If-Match` and writes. So `updatedAt` is unique and increasing
//!   per table across all servers, rows become visible in `updatedAt` order, and no update is
//!   lost; writes to one table are serial, reads are not. `tests/concurrency.rs` runs two servers
//!   and 8 clients on one database.
//! - Single writes to one table that arrive while another is committing are committed together,
//!   in one transaction (group commit), each answered only once that transaction committed and
//!   as it would be alone; on SQLite too, where it saves a WAL fsync per write.
//! - Indexes: the primary key `id`, and `(updatedAt, id)` for keyset pulls. Text columns use the
//!   `"C"` collation, so ordering is byte order, as on SQLite.
//! - PostgreSQL is strict where SQLite is lenient: text with a NUL character, and filters that
//!   compare values of different types (`name eq 1`, `flag eq 1`) are a 400 there.
//!
//! # The protocol
//! - `GET /tables/{t}` (query), `GET /tables/{t}/{id}`, `POST /tables/{t}`, `PATCH /tables/{t}/{id}`,
//!   `DELETE /tables/{t}/{id}`, and `POST /tables/{t}/{id}` (undelete a soft-deleted row, as the
//!   Node server).
//! - `ZUMO-API-VERSION` (header, else a query parameter of any case) must be `2.0.x`, else 400.
//! - Query options: `$filter` (see [`odata`]), `$orderby`, `$top`, `$skip`, `$select`,
//!   `$inlinecount=allpages` (→ `{"results":[…],"count":N}`), `__includeDeleted=true`. No `$top`
//!   (or `$top=0`) gives the table's page size (default 50); `$top` above maxTop (default 1000) is
//!   a 400. When more rows exist after the page, `Link: <absolute URL>; rel=next` names the next
//!   page (`$skip` advanced).
//! - System columns: `id` (given by the client, else a UUID), `createdAt`, `updatedAt`, `version`
//!   (an opaque tag, new on every write, sent as a strong `ETag`), `deleted`. Sending `createdAt`,
//!   `updatedAt` or `deleted` is a 400; a `version` in an insert is ignored; in a PATCH without
//!   `If-Match` it is the precondition (409 on mismatch, as on the Node server).
//! - `If-Match` on PATCH, DELETE and undelete: a mismatch is 412 with the server's current item and
//!   its `ETag`; `*` matches any version. Inserting an existing id (soft-deleted or not) is 409
//!   with the stored item. Soft-deleted rows are 404 to GET, PATCH and DELETE by id, and appear in
//!   queries with `__includeDeleted=true`.
//! - Bad input is a 4xx with `{"error": "…"}` and changes nothing: malformed JSON, a body that is
//!   not an object, a value of the wrong type for a fixed column, an invalid id (the rules of
//!   `sync_core::backend::validate_id`), an unknown table (404) or column (400), an unknown `$`-option,
//!   a body over the limit (413; default 1 MiB).
//!
//! # updatedAt
//! **Every write assigns an `updatedAt` strictly greater than every `updatedAt` handed out before
//! in the same table**, so two rows of one table never share one (rows seeded behind the API, see
//! [`Server::seed`], are the only exception). It is `max(now, last + 1 ms)`, computed and saved in
//! the write's own transaction (`BEGIN IMMEDIATE` on SQLite, so several servers on one file keep
//! it too). A client's keyset cursor `(updatedAt, id)` therefore never misses a row written in the
//! same millisecond as the cursor's row. Under a burst of more than 1000 writes a second,
//! `updatedAt` runs ahead of the wall clock by the excess. `tests/api.rs` checks it with 16
//! concurrent writers on one server and with two servers writing to one database file.
//!
//! # `$filter`
//! The OData v2/v3 subset the official clients send (see [`odata`]): `eq ne gt ge lt le`,
//! `and or not`, `add sub mul div mod`, unary `-`, parentheses; `'text'` (with `''`), numbers,
//! `true false null`, `datetime'…'`, `datetimeoffset'…'`, `guid'…'`; `substringof`, `startswith`,
//! `endswith`, `indexof`, `concat`, `substring`, `replace`, `tolower`, `toupper`, `trim`,
//! `length`, `year`…`second`, `round`, `floor`, `ceiling`. Every literal is a bound SQL
//! parameter; column names are checked against the table. A filter longer than 32 KiB, nested
//! deeper than 64 levels or with more than 10 000 terms is a 400 that says so. A proptest fuzz
//! (`storage::sqlite::fuzz`) checks that no input panics, that no literal reaches the SQL text,
//! and that SQLite accepts the SQL of every filter that parses.
//!
//! # Authentication
//! With an [`Auth`] ([`ServerBuilder::auth`], `[auth]` in the config, `--jwt-secret-env VAR` or
//! `--jwks FILE`), every request needs a JWT in `X-ZUMO-AUTH` or `Authorization: Bearer`, signed
//! with the HS256 secret or an RS256 key of the JWKS, with an `exp` in the future, a `sub`, and
//! the configured `iss`/`aud` if any; otherwise a 401 (see [`auth`]). A `per_user` table (the
//! Node server's `perUser`) has a `userId` column that the server fills from `sub` on insert and
//! adds to every query, read and write: a user's requests see and change only their own rows, a
//! row of another user is a 404 (a 409 without the row for an insert of its id), and `userId` is
//! neither sent to clients nor accepted from them (400).
//!
//! # The `$batch` extension
//! `POST /tables/{t}/$batch` runs many writes in one request with the same rules and answers as
//! the single requests; every answer carries `x-sync-extensions: batch, exact-timestamps` so that
//! clients use it only with a server that has it (see [`batch`]). `backend-azure-rest`'s
//! `AzureRestRemote` reads the header and then pushes through `$batch` (`Batching` on its builder
//! turns that off); `exact-timestamps` (every `updatedAt` is made here, in milliseconds, unique in
//! its table) lets it pull with the plain keyset cursor.
//!
//! # Not yet
//! CORS, the Node server's per-table `access`, hooks and `recordsExpire`.
//!
//! # Differences from the Node server
//! `tests/differential.rs` sends one recorded sequence of 182 requests (CRUD, conflicts, soft
//! delete and undelete, reserved properties, bad input, 44 filters, ordering, paging, page size)
//! to the Node server and to this one, and compares status codes, normalised bodies, strong
//! `ETag`s and `Link` headers. 32 answers differ, each for one of the reasons below (the test
//! fails on any other difference, and on a listed one that no longer occurs):
//! 1. Insert of an existing id (live or soft-deleted) → 409 with the **stored** item and its
//!    `ETag` (Node echoes the request's item, which is useless for conflict resolution).
//! 2. `Link` is a correct absolute URL (`<http://host:port/tables/T?…&$skip=N>; rel=next`; Node's
//!    lacks the port and the path) and is sent only when more rows exist (Node: whenever the page
//!    is full, so the last page has one when it happens to be full).
//! 3. Bad input is a 400, never a 500 and never stored: malformed `$filter`s (double quotes,
//!    `in (…)`, a dangling operator), unknown columns in `$filter`/`$orderby`/`$select` or in
//!    bodies, a body that is an array, values of the wrong type for a column (Node stores `"five"`
//!    in a number column and `"yes"` in a boolean one, and converts `"5"`), numeric ids and ids
//!    over 255 bytes or with forbidden characters (`sync_core::backend::validate_id`). A body over the limit
//!    is 413 (Node's body parser: 400 over 100 kB; ours: 1 MiB by default). An unknown table is a
//!    JSON 404 (Node: an HTML 404).
//! 4. `startswith`, `endswith`, `substringof`, `indexof`, `length`, `year`…`second`, `mod` and
//!    `substring` with two arguments work (on Node's SQLite provider they match nothing or fail
//!    with 500). `datetime'…'` without an offset is read as UTC (Node: 500); `guid'…'` literals
//!    compare as text (Node: 500).
//! 5. `$top` must be a non-negative integer (Node: `-1` returns every row, `abc` is ignored);
//!    `__includeDeleted` must be `true` or `false` (Node: any non-empty value, `false` too,
//!    includes deleted rows); unknown `$`-options and `$count` are 400 (Node ignores them).
//! 6. `If-Match: *` matches any version (RFC 9110; Node compares it literally → 412).
//!
//! Not visible in the comparison (normalised away) but different: `version` is an opaque
//! 32-hex-digit tag (Node: base64 of a counter, `MQ==`, `Mg==`, …), a `version` sent on insert
//! is ignored (Node's SQLite provider stores it), dates in `date` columns are validated and stored
//! canonical (Node stores the text as sent and compares it as text), `updatedAt` is unique per
//! table (Node: two writes in one millisecond share it). The same: whole numbers in `number`
//! columns are sent as integers (`5`), booleans as `true`/`false`, `0`/`1` accepted for booleans.

pub mod auth;
pub mod batch;
pub mod config;
pub mod error;
pub mod odata;
pub mod server;

mod http;
mod ops;
mod protocol;
mod storage;
mod table;

pub use auth::Auth;
pub use config::{AuthConfig, Config, TableConfig};
pub use error::{Error, ServerError};
pub use server::{Server, ServerBuilder};
pub use table::{TableOptions, DEFAULT_MAX_TOP, DEFAULT_PAGE_SIZE};
#[cfg(feature = "test-postgres")]
pub mod test_postgres;
