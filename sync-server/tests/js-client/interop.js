// The official JavaScript client, npm azure-mobile-apps-client 2.0.1 unmodified, against a server:
// local inserts and an update, push, a pull with a query id into a fresh store, server-side
// changes (update, delete, insert through plain HTTP), then an incremental pull.
//
//   node interop.js BASE_URL SQLITE3_MODULE_DIR WORK_DIR
//
// Prints one JSON summary line; exits 1 with a message on the first failed check.
'use strict';

const path = require('path');
const assert = require('assert');

const [base, sqlite3Dir, workDir] = process.argv.slice(2);
if (!base || !sqlite3Dir || !workDir) {
    console.error('usage: node interop.js BASE_URL SQLITE3_MODULE_DIR WORK_DIR');
    process.exit(2);
}

// Browser globals the SDK's Web target needs (PROTOCOL.md §6).
const XHR2 = require('xhr2');
global.XMLHttpRequest = class extends XHR2 {
    constructor() {
        super();
        this.withCredentials = false;
    }
};
global.window = global;
global.sqlitePlugin = require('./sqlite-plugin-shim')(require(sqlite3Dir), workDir);

const WindowsAzure = require('azure-mobile-apps-client');
const MobileServiceSqliteStore =
    require('azure-mobile-apps-client/sdk/src/Platform/cordova/MobileServiceSqliteStore');

const TABLE = 'TodoItem';
const columns = { id: 'string', text: 'string', complete: 'boolean', version: 'string', updatedAt: 'date' };

async function device(name) {
    const client = new WindowsAzure.MobileServiceClient(base);
    const store = new MobileServiceSqliteStore(name + '.db');
    await store.defineTable({ name: TABLE, columnDefinitions: columns });
    const sync = client.getSyncContext();
    await sync.initialize(store);
    return { client, store, sync, table: client.getSyncTable(TABLE) };
}

async function http(method, p, body, ifMatch) {
    const headers = { 'ZUMO-API-VERSION': '2.0.0', 'content-type': 'application/json' };
    if (ifMatch) headers['If-Match'] = '"' + ifMatch + '"';
    const r = await fetch(base + p, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function localRows(d) {
    const rows = await d.table.read(new WindowsAzure.Query(TABLE).orderBy('id'));
    return rows.map((r) => ({ id: r.id, text: r.text, complete: r.complete }));
}

(async () => {
    // Device A: local inserts and an update, then push.
    const a = await device('a');
    for (const [id, text] of [['js-1', 'milk'], ['js-2', 'eggs'], ['js-3', 'bread']]) {
        await a.table.insert({ id, text, complete: false });
    }
    await a.table.update({ id: 'js-3', text: 'bread', complete: true });
    const conflicts = await a.sync.push();
    assert.deepStrictEqual(conflicts, [], 'push without conflicts');
    const server = await http('GET', '/tables/TodoItem?$orderby=id');
    assert.strictEqual(server.status, 200);
    assert.deepStrictEqual(server.body.map((r) => [r.id, r.text, r.complete]),
        [['js-1', 'milk', false], ['js-2', 'eggs', false], ['js-3', 'bread', true]], 'the server has the pushed rows');
    const pushedVersion = (await a.table.lookup('js-1')).version;
    assert.ok(pushedVersion, 'the push stored the server version locally');

    // Device B: a pull with a query id into a fresh store.
    const b = await device('b');
    const query = new WindowsAzure.Query(TABLE);
    await b.sync.pull(query, 'all-todos');
    assert.deepStrictEqual(await localRows(b), [
        { id: 'js-1', text: 'milk', complete: false },
        { id: 'js-2', text: 'eggs', complete: false },
        { id: 'js-3', text: 'bread', complete: true },
    ], 'the first pull');

    // Server-side changes behind B's back.
    const js2 = server.body.find((r) => r.id === 'js-2');
    assert.strictEqual((await http('PATCH', '/tables/TodoItem/js-2', { text: 'brown eggs' }, js2.version)).status, 200);
    assert.strictEqual((await http('DELETE', '/tables/TodoItem/js-1')).status, 200);
    assert.strictEqual((await http('POST', '/tables/TodoItem', { id: 'js-4', text: 'jam', complete: false })).status, 201);

    // Incremental pull: the update, the delete and the insert arrive.
    await b.sync.pull(query, 'all-todos');
    assert.deepStrictEqual(await localRows(b), [
        { id: 'js-2', text: 'brown eggs', complete: false },
        { id: 'js-3', text: 'bread', complete: true },
        { id: 'js-4', text: 'jam', complete: false },
    ], 'the incremental pull');

    // And A, pulling with its own query id, converges too.
    await a.sync.pull(new WindowsAzure.Query(TABLE), 'mine');
    assert.deepStrictEqual(await localRows(a), await localRows(b), 'both devices converge');

    await a.store.close();
    await b.store.close();
    console.log(JSON.stringify({ ok: true, pushed: 3, pulled: 3, incremental: { updated: 1, deleted: 1, inserted: 1 } }));
})().catch((e) => {
    console.error('interop.js: ' + (e && e.stack || e));
    process.exit(1);
});
