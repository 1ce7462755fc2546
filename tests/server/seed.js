// Writes rows straight into the SQLite file of a running (or stopped) server.js.
//
//   node seed.js --db FILE --table Item --count N
//                [--updated-at ISO] [--step-ms K] [--prefix P] [--start S] [--deleted-every D]
//
// Rows are stored exactly as the SDK's SQLite provider stores them
// (node_modules/azure-mobile-apps/src/data/sqlite/helpers.js, statements/createTable.js):
//   id         TEXT   "<prefix><zero-padded index>" (ids sort in index order)
//   createdAt  TEXT   "YYYY-MM-DDTHH:MM:SS.sssZ" (= updatedAt here)
//   updatedAt  TEXT   same format; --updated-at (default: now) + index*--step-ms (default 0,
//                     i.e. all rows share ONE updatedAt)
//   version    TEXT   "1" (the column default; the server sends base64("1") = "MQ==")
//   deleted    INTEGER 0, or 1 for every D-th row with --deleted-every D
// User columns are filled from the table's [__types] metadata: string → "<id>",
// number → index, boolean → index % 2 (0/1), date → updatedAt.
// The table must exist (start server.js once first). Inserts go as multi-row INSERTs of
// 500 rows, 10,000 rows per transaction. Prints one JSON summary line.
'use strict';

const sqlite3 = require('sqlite3');

function fail(msg) {
    process.stderr.write('seed.js: ' + msg + '\n');
    process.exit(2);
}

// --- arguments -------------------------------------------------------------------
const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) fail('bad arguments near ' + argv[i]);
    args[argv[i].slice(2)] = argv[i + 1];
}
const known = ['db', 'table', 'count', 'updated-at', 'step-ms', 'prefix', 'start', 'deleted-every'];
for (const k of Object.keys(args)) if (!known.includes(k)) fail('unknown option --' + k);
if (!args.db || !args.table || args.count === undefined) fail('usage: --db FILE --table NAME --count N [...]');
if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(args.table)) fail('bad table name');
const count = Number(args.count);
const start = Number(args.start || 0);
const stepMs = Number(args['step-ms'] || 0);
const deletedEvery = Number(args['deleted-every'] || 0);
for (const [k, v] of [['count', count], ['start', start], ['step-ms', stepMs], ['deleted-every', deletedEvery]])
    if (!Number.isInteger(v) || v < 0) fail('--' + k + ' must be a non-negative integer');
const base = args['updated-at'] ? Date.parse(args['updated-at']) : Date.now();
if (Number.isNaN(base)) fail('bad --updated-at: ' + args['updated-at']);
const prefix = args.prefix === undefined ? 'seed-' : args.prefix;
const width = Math.max(6, String(start + count - 1).length);

// --- helpers around the callback API -------------------------------------------------
const db = new sqlite3.Database(args.db, sqlite3.OPEN_READWRITE, (e) => { if (e) fail('open ' + args.db + ': ' + e.message); });
const run = (sql, p = []) => new Promise((res, rej) => db.run(sql, p, (e) => (e ? rej(e) : res())));
const all = (sql, p = []) => new Promise((res, rej) => db.all(sql, p, (e, r) => (e ? rej(e) : res(r))));
const stmtRun = (st, p) => new Promise((res, rej) => st.run(p, (e) => (e ? rej(e) : res())));

async function main() {
    db.configure('busyTimeout', 10000); // wait for the server if it holds a write lock

    let cols;
    try {
        cols = await all('SELECT [name], [type] FROM [__types] WHERE [table] = ?', [args.table]);
    } catch (e) {
        fail('no [__types] table in ' + args.db + ' (start server.js on it first): ' + e.message);
    }
    if (cols.length === 0) fail('table ' + args.table + ' is not known to the server (no [__types] rows)');

    const system = ['id', 'createdAt', 'updatedAt', 'version', 'deleted'];
    const user = cols.filter((c) => !system.includes(c.name));
    const names = system.concat(user.map((c) => c.name));
    // One INSERT carries ROWS rows (multi-row VALUES); one transaction carries BATCH rows.
    const ROWS = 500, BATCH = 10000;
    const tuple = '(' + names.map(() => '?').join(',') + ')';
    const insertSql = (n) => 'INSERT INTO [' + args.table + '] (' + names.map((c) => '[' + c + ']').join(',') +
        ') VALUES ' + Array(n).fill(tuple).join(',');
    const full = db.prepare(insertSql(ROWS));

    let first = null, last = null, firstTs = null, lastTs = null;
    const rowAt = (k) => {
        const idx = start + k;
        const id = prefix + String(idx).padStart(width, '0');
        const ts = new Date(base + k * stepMs).toISOString(); // always ms + Z, like STRFTIME('%Y-%m-%dT%H:%M:%fZ')
        const deleted = deletedEvery > 0 && (k + 1) % deletedEvery === 0 ? 1 : 0;
        const row = [id, ts, ts, '1', deleted];
        for (const c of user) {
            row.push(c.type === 'string' ? id
                : c.type === 'number' ? idx
                : c.type === 'boolean' ? idx % 2
                : c.type === 'date' ? ts : null);
        }
        if (first === null) { first = id; firstTs = ts; }
        last = id; lastTs = ts;
        return row;
    };
    for (let b = 0; b < count; b += BATCH) {
        await run('BEGIN IMMEDIATE');
        try {
            const end = Math.min(count, b + BATCH);
            for (let k = b; k < end; k += ROWS) {
                const n = Math.min(ROWS, end - k);
                const params = [];
                for (let j = 0; j < n; j++) params.push(...rowAt(k + j));
                if (n === ROWS) await stmtRun(full, params);
                else await run(insertSql(n), params);
            }
            await run('COMMIT');
        } catch (e) {
            await run('ROLLBACK').catch(() => {});
            throw e;
        }
    }
    await new Promise((res) => full.finalize(res));
    await new Promise((res) => db.close(res));
    process.stdout.write(JSON.stringify({
        table: args.table, inserted: count, firstId: first, lastId: last,
        firstUpdatedAt: firstTs, lastUpdatedAt: lastTs,
    }) + '\n');
}

main().catch((e) => fail(e.message));
