// A small stand-in for the cordova-sqlite-storage plugin (`window.sqlitePlugin`) over npm
// `sqlite3`, enough for the official client's MobileServiceSqliteStore to run unmodified under
// Node: openDatabase, db.transaction (real BEGIN/COMMIT/ROLLBACK, statements queued by callbacks
// run in order), db.executeSql, db.close. Results look like WebSQL's:
// { rows: { length, item(i) }, rowsAffected, insertId }.
'use strict';

function result(rows, info) {
    return {
        rows: { length: rows.length, item: (i) => rows[i] },
        rowsAffected: info ? info.changes : 0,
        insertId: info ? info.lastID : undefined,
    };
}

function isQuery(sql) {
    return /^\s*(select|pragma|with)\b/i.test(sql);
}

class Database {
    constructor(sqlite3, file) {
        this.db = new sqlite3.Database(file);
        this.queue = Promise.resolve(); // transactions run one at a time
    }

    run(sql, params) {
        return new Promise((resolve, reject) => {
            if (isQuery(sql)) {
                this.db.all(sql, params || [], (err, rows) => (err ? reject(err) : resolve(result(rows, null))));
            } else {
                this.db.run(sql, params || [], function (err) {
                    if (err) reject(err);
                    else resolve(result([], this));
                });
            }
        });
    }

    transaction(body, errorCb, successCb) {
        this.queue = this.queue.then(() => this.runTransaction(body)).then(
            () => { if (successCb) successCb(); },
            (err) => { if (errorCb) errorCb(err); });
    }

    async runTransaction(body) {
        const pending = [];
        const tx = {
            executeSql: (sql, params, ok, fail) => pending.push({ sql, params, ok, fail }),
        };
        await this.run('BEGIN');
        try {
            body(tx);
            while (pending.length > 0) {
                const s = pending.shift();
                let res;
                try {
                    res = await this.run(s.sql, s.params);
                } catch (err) {
                    // WebSQL: an error callback returning false swallows the error.
                    if (s.fail && s.fail(tx, err) === false) continue;
                    throw err;
                }
                if (s.ok) s.ok(tx, res);
            }
            await this.run('COMMIT');
        } catch (err) {
            await this.run('ROLLBACK').catch(() => {});
            throw err;
        }
    }

    executeSql(sql, params, ok, fail) {
        this.queue = this.queue.then(() => this.run(sql, params)).then(
            (res) => { if (ok) ok(res); },
            (err) => { if (fail) fail(err); });
    }

    close(ok, fail) {
        this.queue = this.queue.then(() => new Promise((resolve) => {
            this.db.close((err) => {
                if (err) { if (fail) fail(err); } else if (ok) ok();
                resolve();
            });
        }));
    }
}

module.exports = function sqlitePlugin(sqlite3, folder) {
    const path = require('path');
    return {
        openDatabase(options, ok, fail) {
            let db;
            try {
                db = new Database(sqlite3, path.join(folder, options.name));
            } catch (err) {
                if (fail) setImmediate(() => fail(err));
                return undefined;
            }
            if (ok) setImmediate(() => ok(db));
            return db;
        },
    };
};
