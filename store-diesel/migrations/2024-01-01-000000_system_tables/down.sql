DROP TABLE "__tables";
DROP TABLE "__config";
DROP TABLE "__errors";
DROP TABLE "__operations";
