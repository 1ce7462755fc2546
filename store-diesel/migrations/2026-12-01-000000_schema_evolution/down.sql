ALTER TABLE "__tables" DROP COLUMN "retained";
