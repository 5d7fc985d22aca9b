CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 400000)
INSERT INTO t SELECT i, hex(randomblob(8 + i % 40)), random() % 1000 FROM c;
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(length(name)) FROM (SELECT name FROM t ORDER BY v, name);
SELECT substr(name, 1, 2) AS k, count(*) FROM t GROUP BY k ORDER BY 2 DESC LIMIT 3;
