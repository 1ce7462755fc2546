-- The system tables of the store (names like the official clients' operations/errors/config).

-- The operation queue. AUTOINCREMENT: ids strictly increase and are never reused, even after the
-- newest operation was removed and the store reopened.
CREATE TABLE "__operations" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "kind" INTEGER NOT NULL,
    "tableName" TEXT NOT NULL,
    "itemId" TEXT NOT NULL,
    "state" INTEGER NOT NULL,
    "version" INTEGER NOT NULL,
    "item" TEXT
);
CREATE INDEX "__operations_item" ON "__operations" ("tableName", "itemId");

-- One error row per failed operation; records are JSON text.
CREATE TABLE "__errors" (
    "operationId" INTEGER PRIMARY KEY,
    "operationVersion" INTEGER NOT NULL,
    "kind" INTEGER NOT NULL,
    "tableName" TEXT NOT NULL,
    "itemId" TEXT NOT NULL,
    "failure" TEXT NOT NULL,
    "status" INTEGER,
    "message" TEXT NOT NULL,
    "item" TEXT,
    "serverItem" TEXT
);

-- Engine state: delta cursors and the like.
CREATE TABLE "__config" (
    "key" TEXT PRIMARY KEY NOT NULL,
    "value" TEXT NOT NULL
);

-- The catalogue of user tables: the TableSchema (JSON) each was last opened with, and the SQL
-- names of the table and of its columns (JSON object, column name -> SQL name). SQLite compares
-- identifiers ignoring case and reserves `sqlite_…`, while the protocol's names are case-sensitive:
-- the store picks SQL names that never collide (usually the name itself).
CREATE TABLE "__tables" (
    "name" TEXT PRIMARY KEY NOT NULL,
    "sqlName" TEXT NOT NULL,
    "schema" TEXT NOT NULL,
    "columns" TEXT NOT NULL
);
