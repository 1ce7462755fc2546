-- Schema evolution: the columns a table keeps in SQL that its current schema no longer has
-- (removed fields, or a file opened by an older app version). JSON array of sync-core Columns;
-- their SQL names are in "columns" with the others.
ALTER TABLE "__tables" ADD COLUMN "retained" TEXT NOT NULL DEFAULT '[]';
