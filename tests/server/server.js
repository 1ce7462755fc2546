// Official Azure Mobile Apps Node server (npm azure-mobile-apps 4.0.2, SQLite provider)
// run as a local test dependency. Listens on 127.0.0.1 only.
//
// Env:
//   DB_FILE       SQLite file (required; created if missing)
//   PORT          TCP port, 0 or unset = pick a free one
//   AUTH_TOKEN    if set, every request needs `X-ZUMO-AUTH: <token>` or
//                 `Authorization: Bearer <token>`, else 401
//   EXTRA_TABLES  JSON {"Name":{"col":"string|number|boolean|date"}} (extra tables)
//   LOG_LEVEL     SDK log level (default "warn"); logs go to stderr
//
// Once every table exists in the SQLite file it prints exactly one line to
// stdout: `listening http://127.0.0.1:<port>`.
'use strict';

const path = require('path');
const express = require('express');
const azureMobileApps = require('azure-mobile-apps');
// the SDK's own winston (2.x), to send its logs to stderr instead of stdout
const winston = require(require.resolve('winston', {
    paths: [path.dirname(require.resolve('azure-mobile-apps'))]
}));

function fail(msg) {
    process.stderr.write('server.js: ' + msg + '\n');
    process.exit(2);
}

const dbFile = process.env.DB_FILE;
if (!dbFile) fail('DB_FILE is required');
const port = Number(process.env.PORT || 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail('bad PORT: ' + process.env.PORT);
const authToken = process.env.AUTH_TOKEN || '';

// Table definitions: explicit columns + soft delete + no dynamic schema, so the
// whole SQLite schema is created by initialize() before any insert.
const TYPES = ['string', 'number', 'boolean', 'date'];
const tables = {
    // `priority`: added by version 2 of examples/todo (a backend adds the column before the app).
    TodoItem: { text: 'string', complete: 'boolean', priority: 'number' },
    AllTypes: { s: 'string', i: 'number', r: 'number', b: 'boolean', d: 'date' },
    Item: { name: 'string', n: 'number', flag: 'boolean' },
};
if (process.env.EXTRA_TABLES) {
    let extra;
    try { extra = JSON.parse(process.env.EXTRA_TABLES); } catch (e) { fail('EXTRA_TABLES is not JSON: ' + e.message); }
    for (const [name, cols] of Object.entries(extra)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail('bad table name in EXTRA_TABLES: ' + name);
        for (const [col, type] of Object.entries(cols || {})) {
            if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(col)) fail('bad column name ' + name + '.' + col);
            if (!TYPES.includes(type)) fail('bad type ' + name + '.' + col + ': ' + type);
        }
        tables[name] = cols || {};
    }
}

const app = express();
app.disable('x-powered-by');

// Optional shared-token auth, checked before anything of the SDK runs.
if (authToken) {
    app.use((req, res, next) => {
        const zumo = req.get('x-zumo-auth');
        const bearer = (req.get('authorization') || '').replace(/^bearer /i, '');
        if (zumo !== authToken && bearer !== authToken) {
            return res.status(401).json({ error: 'Unauthorized' });
        }
        // The SDK would try to validate these headers as JWTs: hide them from it.
        delete req.headers['x-zumo-auth'];
        delete req.headers['authorization'];
        next();
    });
}

// The SDK opens its connection with `new sqlite3.cached.Database(filename)`, so this is
// the very same object. Without a busy timeout every request made while seed.js holds
// the write lock fails with 500 SQLITE_BUSY.
require('sqlite3').cached.Database(dbFile).configure('busyTimeout', 10000);

const mobile = azureMobileApps({
    data: { provider: 'sqlite', filename: dbFile, dynamicSchema: false },
    pageSize: 50,   // SDK defaults, stated for clarity
    maxTop: 1000,
    logging: {
        level: process.env.LOG_LEVEL || 'warn',
        transports: [new winston.transports.Console({
            stderrLevels: ['error', 'warn', 'info', 'verbose', 'debug', 'silly'],
        })],
    },
});

for (const [name, columns] of Object.entries(tables)) {
    mobile.tables.add(name, { columns, softDelete: true, dynamicSchema: false });
}
app.use(mobile);

// Create every table (and the SDK's __types metadata) now, not lazily.
// Keyset pulls filter and order by (updatedAt, id); without an index every page scans the table.
// Production Mobile Apps databases want the same index.
function indexKeyset() {
    const db = require('sqlite3').cached.Database(dbFile);
    return Promise.all(Object.keys(tables).map((name) => new Promise((resolve, reject) => {
        db.run('CREATE INDEX IF NOT EXISTS [ix_' + name + '_updatedAt_id] ON [' + name + '] (updatedAt, id)',
            (e) => (e ? reject(e) : resolve()));
    })));
}

mobile.tables.initialize()
    .then(indexKeyset)
    .then(() => {
        const server = app.listen(port, '127.0.0.1', () => {
            const line = 'listening http://127.0.0.1:' + server.address().port + '\n';
            process.stdout.write(line);
        });
        server.on('error', (e) => fail('listen failed: ' + e.message));
        const stop = () => server.close(() => process.exit(0));
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
    })
    .catch((e) => fail('table initialisation failed: ' + (e && e.stack || e)));
