// Pages through a table with the (updatedAt, id) keyset query and checks that every row
// comes back exactly once and in (updatedAt, id) order. Used to verify the README facts.
//   node check-keyset.js http://127.0.0.1:PORT [Table=Item] [top=100]
// Sends X-ZUMO-AUTH from env AUTH_TOKEN when set. Exit 0 = ok, 1 = failure.
'use strict';

const base = process.argv[2];
const table = process.argv[3] || 'Item';
const top = Number(process.argv[4] || 100);
if (!base) { console.error('usage: node check-keyset.js BASE_URL [Table] [top]'); process.exit(1); }
const headers = { 'ZUMO-API-VERSION': '2.0.0' };
if (process.env.AUTH_TOKEN) headers['X-ZUMO-AUTH'] = process.env.AUTH_TOKEN;

(async () => {
    let T = '1970-01-01T00:00:00.000Z', I = '', pages = 0, prev = null, deleted = 0;
    const seen = new Set();
    const t0 = Date.now();
    for (;;) {
        const filter = `(updatedAt gt datetimeoffset'${T}') or ` +
            `(updatedAt eq datetimeoffset'${T}' and id gt '${I.replace(/'/g, "''")}')`;
        const url = `${base}/tables/${table}?$filter=${encodeURIComponent(filter)}` +
            `&$orderby=${encodeURIComponent('updatedAt,id')}&$top=${top}&__includeDeleted=true`;
        const r = await fetch(url, { headers });
        if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
        const rows = await r.json();
        pages++;
        if (rows.length === 0) break;
        for (const row of rows) {
            if (seen.has(row.id)) throw new Error('duplicate row ' + row.id);
            seen.add(row.id);
            if (row.deleted) deleted++;
            if (prev && !(row.updatedAt > prev[0] || (row.updatedAt === prev[0] && row.id > prev[1])))
                throw new Error(`out of order: ${prev} then ${row.updatedAt},${row.id}`);
            prev = [row.updatedAt, row.id];
        }
        T = prev[0]; I = prev[1];
    }
    console.log(JSON.stringify({ table, top, rows: seen.size, pages, deleted, ms: Date.now() - t0 }));
})().catch((e) => { console.error('check-keyset: ' + e.message); process.exit(1); });
