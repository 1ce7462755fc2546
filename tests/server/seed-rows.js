// Writes given rows straight into the SQLite file of a running (or stopped) server.js, all with
// one updatedAt, the way seed.js (and the SDK's SQLite provider) stores them.
//
//   echo '[{"id":"a","name":"x","n":1,"flag":true}, …]' | node seed-rows.js --db FILE --table Item --updated-at ISO
//
// Rows: JSON objects with a string `id`; user columns must be known to the table's [__types]
// (string → TEXT, number → REAL, boolean → 0/1, date → the string as given); absent ones are NULL.
// System columns: createdAt = updatedAt = --updated-at as given (e.g. `YYYY-MM-DDTHH:MM:SS.sssZ`),
// version '1' (sent by the server as "MQ=="), deleted = 1 if the row has `"deleted": true`.
// One transaction; prints one JSON summary line. Exit code 2 with a message on stderr on error.
'use strict';

const sqlite3 = require('sqlite3');

function fail(msg) {
    process.stderr.write('seed-rows.js: ' + msg + '\n');
    process.exit(2);
}

const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) fail('bad arguments near ' + argv[i]);
    args[argv[i].slice(2)] = argv[i + 1];
}
for (const k of Object.keys(args)) if (!['db', 'table', 'updated-at'].includes(k)) fail('unknown option --' + k);
if (!args.db || !args.table || !args['updated-at']) fail('usage: --db FILE --table NAME --updated-at ISO < rows.json');
if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(args.table)) fail('bad table name');
// Stored as given (validated as a date), the way another tool writing the file would: text with
// more digits than the server sends (`…00.1234567Z`) is how the finer-timestamp tests get rows
// the server compares as text but sends as milliseconds.
if (Number.isNaN(Date.parse(args['updated-at']))) fail('bad --updated-at: ' + args['updated-at']);
const ts = args['updated-at'];

async function readStdin() {
    const chunks = [];
    for await (const c of process.stdin) chunks.push(c);
    return Buffer.concat(chunks).toString('utf8');
}

async function main() {
    let rows;
    try { rows = JSON.parse(await readStdin()); } catch (e) { fail('stdin is not JSON: ' + e.message); }
    if (!Array.isArray(rows)) fail('stdin must be a JSON array of rows');

    const db = await new Promise((res) => {
        const d = new sqlite3.Database(args.db, sqlite3.OPEN_READWRITE, (e) => (e ? fail('open ' + args.db + ': ' + e.message) : res(d)));
    });
    db.configure('busyTimeout', 10000);
    const run = (sql, p = []) => new Promise((res, rej) => db.run(sql, p, (e) => (e ? rej(e) : res())));
    const all = (sql, p = []) => new Promise((res, rej) => db.all(sql, p, (e, r) => (e ? rej(e) : res(r))));

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
    const sql = 'INSERT INTO [' + args.table + '] (' + names.map((c) => '[' + c + ']').join(',') + ') VALUES (' +
        names.map(() => '?').join(',') + ')';

    const params = rows.map((row, i) => {
        if (row === null || typeof row !== 'object' || Array.isArray(row)) fail('row ' + i + ' is not an object');
        if (typeof row.id !== 'string' || row.id === '') fail('row ' + i + ' has no string id');
        for (const k of Object.keys(row)) {
            if (k !== 'deleted' && !names.includes(k)) fail('row ' + i + ': table ' + args.table + ' has no column ' + k);
            if (['createdAt', 'updatedAt', 'version'].includes(k)) fail('row ' + i + ': ' + k + ' is set by seed-rows.js');
        }
        const p = [row.id, ts, ts, '1', row.deleted === true ? 1 : 0];
        for (const c of user) {
            const v = row[c.name];
            if (v === undefined || v === null) p.push(null);
            else if (c.type === 'boolean') p.push(v ? 1 : 0);
            else p.push(v);
        }
        return p;
    });

    await run('BEGIN IMMEDIATE');
    try {
        for (const p of params) await run(sql, p);
        await run('COMMIT');
    } catch (e) {
        await run('ROLLBACK').catch(() => {});
        fail(e.message);
    }
    await new Promise((res) => db.close(res));
    process.stdout.write(JSON.stringify({ table: args.table, inserted: params.length, updatedAt: ts }) + '\n');
}

main().catch((e) => fail(e.message));
