-- zerocut.jsonb_log_ops: the GIN operator class of audit_log.system_log's
-- metadata.  An index scan must return exactly what a sequential scan
-- returns for every kind of containment query: audit rows (table + pk, no
-- pk, a table that is not a string), system events, non-object metadata,
-- and queries on keys the class does not index.
CREATE TABLE log_ops (id serial, metadata jsonb NOT NULL);
CREATE FUNCTION pg_temp.log_ops_rows(first int, last int) RETURNS SETOF jsonb LANGUAGE sql AS $$
SELECT CASE g % 10  -- the kind of row; k = g / 10 varies within a kind
  WHEN 0 THEN jsonb_build_object('operation', 'UPDATE', 'schema', 's' || k % 2, 'table', 't' || k % 5,
              'pk', jsonb_build_object('id', k % 300), 'old_data', jsonb_build_object('v', g),
              'new_data', jsonb_build_object('v', g + 1))
  WHEN 1 THEN jsonb_build_object('operation', 'DELETE', 'schema', 's1', 'table', 't' || k % 5,
              'pk', jsonb_build_object('a', k % 7, 'b', 'x' || k % 3), 'old_data', jsonb_build_object('a', k % 7))
  WHEN 2 THEN jsonb_build_object('operation', 'TRUNCATE', 'schema', 's1', 'table', 't' || k % 5)
  WHEN 3 THEN jsonb_build_object('job', 'archive', 'rows', k % 10, 'tables', jsonb_build_array('t1', 't' || k % 4),
              'nested', jsonb_build_object('k', k % 3, 'arr', jsonb_build_array(1, k % 5)))
  WHEN 4 THEN jsonb_build_object('table', 't' || k % 5, 'rows', k % 10)
  WHEN 5 THEN jsonb_build_object('table', k % 5, 'pk', jsonb_build_object('id', k % 300))
  WHEN 6 THEN jsonb_build_object('pk', jsonb_build_object('id', k % 300), 'x', k % 4)
  WHEN 7 THEN jsonb_build_array(k % 4, jsonb_build_object('table', 't1', 'pk', k % 3))
  WHEN 8 THEN jsonb_build_object('operation', 'INSERT', 'table', 't' || k % 5, 'pk', jsonb_build_object('id', k % 300),
              'new_data', jsonb_build_object('id', k % 300, 'tags', jsonb_build_array('a', 'b' || k % 2)))
  ELSE to_jsonb(k % 6) END
FROM generate_series(first, last) g, LATERAL (SELECT g / 10 AS k) AS kind
$$;
INSERT INTO log_ops (metadata) SELECT * FROM pg_temp.log_ops_rows(1, 6000);
-- Rows that give no key at all (GIN's empty items), repeated array
-- elements, null and boolean values, deep nesting.
INSERT INTO log_ops (metadata)
SELECT m::jsonb FROM (VALUES ('{}'), ('[]'), ('{"operation": "X"}'), ('{"table": 3}'), ('{"old_data": {"a": 1}}'),
    ('{"pk": {}}'), ('{"tables": ["t1", "t1"], "flag": true, "none": null}'), ('{"a": {"b": {"c": [{"d": 1}, [2, [3]]]}}}'),
    ('{"table": "t1", "pk": {"id": null}, "operation": "UPDATE"}'), ('{"table": "", "pk": {"": false}}')) AS v(m),
    generate_series(1, 3);
CREATE INDEX log_ops_gin ON log_ops USING gin (metadata zerocut.jsonb_log_ops);
-- Rows added after the build go through the pending list; a second index
-- without it inserts every key at once.
INSERT INTO log_ops (metadata) SELECT * FROM pg_temp.log_ops_rows(6001, 9000);
CREATE TABLE log_ops_direct (LIKE log_ops);
-- The reference: the same rows without any index.
CREATE TABLE log_ops_plain AS SELECT * FROM log_ops;
CREATE INDEX log_ops_direct_gin ON log_ops_direct USING gin (metadata zerocut.jsonb_log_ops) WITH (fastupdate = off);
INSERT INTO log_ops_direct SELECT * FROM log_ops;
ANALYZE log_ops, log_ops_direct;

CREATE TABLE log_ops_queries (n serial, q jsonb);
INSERT INTO log_ops_queries (q) VALUES
 ('{}'), ('{"table": "t1"}'), ('{"table": "t1", "operation": "DELETE"}'), ('{"table": "t0", "pk": {"id": 0}}'),
 ('{"table": "t0", "schema": "s0", "pk": {"id": 0}}'), ('{"table": "t0", "schema": "s1", "pk": {"id": 0}}'),
 ('{"pk": {"id": 10}}'), ('{"table": "t1", "pk": {"a": 3}}'), ('{"table": "t1", "pk": {"a": 3, "b": "x1"}}'),
 ('{"table": "t1", "pk": {"a": 3, "b": "x1"}, "operation": "DELETE", "schema": "s1"}'),
 ('{"table": "t1", "pk": {}}'), ('{"job": "archive"}'), ('{"job": "archive", "rows": 3}'), ('{"tables": ["t1"]}'),
 ('{"tables": ["t3", "t1"]}'), ('{"tables": "t1"}'), ('{"nested": {"arr": [4]}}'), ('{"nested": {"k": 1, "arr": [1]}}'),
 ('{"nested": {"arr": 1}}'), ('{"table": 3}'), ('{"table": 3, "pk": {"id": 3}}'), ('{"table": 0, "pk": {"id": 15}}'),
 ('{"rows": 5}'), ('{"table": "t4", "rows": 4}'), ('{"pk": {"id": 6}, "x": 2}'), ('[1]'), ('1'), ('"x"'), ('[]'),
 ('[{"table": "t1"}]'), ('[{"table": "t1", "pk": 2}]'), ('[2, {"pk": 1}]'), ('{"operation": "TRUNCATE"}'),
 ('{"table": "t3", "operation": "TRUNCATE"}'), ('{"old_data": {"a": 3}}'), ('{"table": "t2", "old_data": {"a": 2}}'),
 ('{"table": "t3", "new_data": {"tags": ["b"]}}'), ('{"table": "nope"}'), ('{"table": "t3", "pk": {"id": [3]}}'),
 ('{"table": "t3", "pk": {"id": 3}}'), ('{"table": "t3", "pk": {"id": 3.0}}'), ('{"table": "t3", "pk": {"id": "3"}}'),
 ('{"table": "t3", "pk": {"id": 33}, "operation": "INSERT", "new_data": {"tags": ["b1"]}}'), ('{"table": "t4", "pk": {"id": 4}}'),
 ('{"operation": "X"}'), ('{"pk": {}}'), ('{"old_data": {"a": 1}}'), ('{"tables": ["t1", "t1"]}'), ('{"flag": true}'),
 ('{"none": null}'), ('{"flag": false}'), ('{"a": {"b": {"c": [{"d": 1}]}}}'), ('{"a": {"b": {"c": [[[3]]]}}}'),
 ('{"a": {"b": {}}}'), ('{"table": "t1", "pk": {"id": null}}'), ('{"table": "", "pk": {"": false}}'), ('{"table": ""}'),
 ('[3]'), ('{"pk": {"id": 4}, "table": "t4", "operation": "INSERT", "schema": "nope"}'), ('[[]]');

CREATE FUNCTION pg_temp.log_ops_counts(tbl regclass) RETURNS TABLE (query int, n bigint) LANGUAGE plpgsql AS $$
DECLARE
    l record;
BEGIN
    FOR l IN SELECT * FROM log_ops_queries LOOP
        query := l.n;
        EXECUTE format('SELECT count(*) FROM %s WHERE metadata @> $1', tbl) INTO n USING l.q;
        RETURN NEXT;
    END LOOP;
END $$;
CREATE TEMP TABLE by_seqscan AS SELECT * FROM pg_temp.log_ops_counts('log_ops_plain');
SET enable_seqscan = off;
SET enable_indexscan = off;
CREATE TEMP TABLE by_index AS SELECT * FROM pg_temp.log_ops_counts('log_ops');
CREATE TEMP TABLE by_direct_index AS SELECT * FROM pg_temp.log_ops_counts('log_ops_direct');
-- The counts themselves (so a query matching nothing in every scan shows).
SELECT l.q, s.n AS seqscan, i.n AS pending_index, d.n AS direct_index
FROM log_ops_queries l JOIN by_seqscan s ON s.query = l.n JOIN by_index i USING (query) JOIN by_direct_index d USING (query)
ORDER BY l.n;
SELECT count(*) AS queries, count(*) FILTER (WHERE s.n = i.n AND s.n = d.n) AS same_count
FROM by_seqscan s JOIN by_index i USING (query) JOIN by_direct_index d USING (query);
-- After the pending list is merged into the tree, still the same.
VACUUM log_ops;
SELECT count(*) AS queries_differing_after_vacuum
FROM by_seqscan s JOIN pg_temp.log_ops_counts('log_ops') i USING (query) WHERE s.n <> i.n;

-- Two containment conditions on one column are two scan keys of one index scan.
SELECT (SELECT count(*) FROM log_ops WHERE metadata @> '{"table": "t1"}' AND metadata @> '{"pk": {"a": 3}}') AS both_conditions,
       (SELECT count(*) FROM log_ops_plain WHERE metadata @> '{"table": "t1", "pk": {"a": 3}}') AS reference;
EXPLAIN (COSTS OFF) SELECT count(*) FROM log_ops WHERE metadata @> '{"table": "t1"}' AND metadata @> '{"pk": {"a": 3}}';
SELECT amvalidate(oid) AS opclass_valid FROM pg_opclass WHERE opcname = 'jsonb_log_ops';

-- The scans are index scans, and only the row images and envelope members
-- are rechecked: a table with a pk, or a table alone, fetches exactly its rows.
CREATE FUNCTION pg_temp.log_ops_plan(query jsonb) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format('EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) '
                                'SELECT * FROM log_ops_direct WHERE metadata @> %L', query);
END $$;
SELECT line FROM pg_temp.log_ops_plan('{"table": "t0", "pk": {"id": 0}}') AS line WHERE line !~ 'Heap Blocks';
SELECT line FROM pg_temp.log_ops_plan('{"table": "t1"}') AS line WHERE line !~ 'Heap Blocks';
SELECT line FROM pg_temp.log_ops_plan('{"job": "archive", "rows": 3}') AS line WHERE line !~ 'Heap Blocks';
-- Row images and envelope members add no key: the index is smaller than
-- jsonb_path_ops on the same rows.
CREATE INDEX log_ops_path_ops ON log_ops_direct USING gin (metadata jsonb_path_ops) WITH (fastupdate = off);
SELECT pg_relation_size('log_ops_direct_gin') < pg_relation_size('log_ops_path_ops') AS smaller_than_path_ops;
RESET enable_seqscan;
RESET enable_indexscan;

-- The class serves @> only.
SELECT count(*) FROM log_ops WHERE metadata ? 'table';
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM log_ops WHERE metadata ? 'table';
RESET enable_seqscan;

DROP TABLE log_ops, log_ops_direct, log_ops_plain, log_ops_queries;
