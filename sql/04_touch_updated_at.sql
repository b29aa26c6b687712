-- touch_updated_at(): BEFORE UPDATE FOR EACH ROW keeps updated_at current.
CREATE TABLE touch_demo (id int PRIMARY KEY, v text,
                         updated_at timestamptz NOT NULL DEFAULT '2000-01-01',
                         modified timestamp NOT NULL DEFAULT '2000-01-01');
CREATE TRIGGER touch BEFORE UPDATE ON touch_demo FOR EACH ROW EXECUTE FUNCTION zerocut.touch_updated_at();
INSERT INTO touch_demo (id, v) VALUES (1, 'a'), (2, 'b');
BEGIN;
UPDATE touch_demo SET v = 'c' WHERE id = 1;
SELECT id, updated_at = now() AS touched, modified = '2000-01-01' AS other_column_untouched FROM touch_demo ORDER BY id;
COMMIT;

-- The column can be named; timestamp without time zone works too.
CREATE TRIGGER touch_modified BEFORE UPDATE ON touch_demo FOR EACH ROW EXECUTE FUNCTION zerocut.touch_updated_at('modified');
BEGIN;
UPDATE touch_demo SET v = 'd' WHERE id = 2;
SELECT id, modified = localtimestamp AS touched FROM touch_demo WHERE id = 2;
COMMIT;

-- A NULL updated_at, and a column added after the rows were written (not
-- physically in the old rows), take the slow path and are set all the same.
ALTER TABLE touch_demo ADD COLUMN added_later timestamptz DEFAULT '2000-01-01';
CREATE TRIGGER touch_added BEFORE UPDATE ON touch_demo FOR EACH ROW EXECUTE FUNCTION zerocut.touch_updated_at('added_later');
BEGIN;
UPDATE touch_demo SET v = v || '!';
SELECT id, added_later = now() AS touched, v FROM touch_demo ORDER BY id;
COMMIT;
DROP TRIGGER touch_added ON touch_demo;
ALTER TABLE touch_demo DROP COLUMN added_later;
-- Dropped and NULL columns before the target do not confuse the byte offsets.
CREATE TABLE drop_demo (id int, junk text, note text, updated_at timestamptz, after text);
CREATE TRIGGER touch BEFORE UPDATE ON drop_demo FOR EACH ROW EXECUTE FUNCTION zerocut.touch_updated_at();
INSERT INTO drop_demo VALUES (1, 'junk', NULL, '2000-01-01', 'tail'), (2, 'junk', 'x', '2000-01-01', NULL);
ALTER TABLE drop_demo DROP COLUMN junk;
BEGIN;
UPDATE drop_demo SET id = id + 10;
SELECT id, note, updated_at = now() AS touched, after FROM drop_demo ORDER BY id;
COMMIT;
DROP TABLE drop_demo;

-- Works on a partitioned table (the trigger is cloned to partitions).
CREATE TABLE touch_parted (d date, updated_at timestamptz) PARTITION BY RANGE (d);
CREATE TABLE touch_parted_1998 PARTITION OF touch_parted FOR VALUES FROM ('1998-01-01') TO ('1999-01-01');
CREATE TRIGGER touch BEFORE UPDATE ON touch_parted FOR EACH ROW EXECUTE FUNCTION zerocut.touch_updated_at();
INSERT INTO touch_parted VALUES ('1998-03-01', NULL);
BEGIN;
UPDATE touch_parted SET d = '1998-03-02';
SELECT updated_at = now() AS touched FROM touch_parted;
COMMIT;

-- Misuse: clear errors, the row is not changed.
CREATE TABLE no_stamp (id int, v text);
CREATE TRIGGER touch BEFORE UPDATE ON no_stamp FOR EACH ROW EXECUTE FUNCTION zerocut.touch_updated_at();
INSERT INTO no_stamp VALUES (1, 'a');
UPDATE no_stamp SET v = 'b';
SELECT v FROM no_stamp;
DROP TRIGGER touch ON no_stamp;
CREATE TRIGGER touch BEFORE UPDATE ON no_stamp FOR EACH ROW EXECUTE FUNCTION zerocut.touch_updated_at('v');
UPDATE no_stamp SET v = 'b';
DROP TRIGGER touch ON no_stamp;
CREATE TRIGGER touch_after AFTER UPDATE ON touch_demo FOR EACH ROW EXECUTE FUNCTION zerocut.touch_updated_at();
UPDATE touch_demo SET v = 'e';
DROP TRIGGER touch_after ON touch_demo;
CREATE TRIGGER touch_ins BEFORE INSERT ON touch_demo FOR EACH ROW EXECUTE FUNCTION zerocut.touch_updated_at();
INSERT INTO touch_demo (id, v) VALUES (3, 'x');
DROP TRIGGER touch_ins ON touch_demo;
CREATE TRIGGER touch_stmt BEFORE UPDATE ON touch_demo FOR EACH STATEMENT EXECUTE FUNCTION zerocut.touch_updated_at();
UPDATE touch_demo SET v = 'f';
DROP TRIGGER touch_stmt ON touch_demo;
CREATE TRIGGER touch_hostile BEFORE UPDATE ON touch_demo FOR EACH ROW EXECUTE FUNCTION zerocut.touch_updated_at('x"; DROP TABLE touch_demo; --');
UPDATE touch_demo SET v = 'g';
SELECT count(*) AS rows_still_there FROM touch_demo;
SELECT zerocut.touch_updated_at();

-- The domain tables carry it.
SELECT zerocut.install_domain_schema() IS NOT NULL AS installed;
INSERT INTO user_management."USER" (email, password_hash, username, updated_at)
VALUES ('t@example.com', 'x', 'touch', '2000-01-01');
BEGIN;
UPDATE user_management."USER" SET username = 'touched' WHERE email = 't@example.com';
SELECT updated_at = now() AS user_touched FROM user_management."USER" WHERE email = 't@example.com';
COMMIT;
DELETE FROM user_management."USER" WHERE email = 't@example.com';
DROP TABLE touch_demo, touch_parted, no_stamp;
