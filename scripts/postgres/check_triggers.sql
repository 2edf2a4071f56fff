-- Exercises every roll-up and client_features trigger. The same text runs on
-- SQLite (with PRAGMA foreign_keys = ON, as the app opens it) and on
-- PostgreSQL, on a database migrated with the respective migrations; then
-- dump_rollups.sql prints the trigger-maintained tables and
-- compare_rollups.sh diffs the two engines' output.
--
-- Times (UTC Unix seconds):
--   1795514400 = 2026-11-24 10:00 UTC
--   1795545000 = 2026-11-24 18:30 UTC (23:30 in Tashkent, 00:30 next day in Bishkek)
--   1798747200 = 2026-12-31 20:00 UTC (already 2027-01-01 01:00 in Tashkent:
--                the age band uses the UTC year, 2026)
--   1798761600 = 2027-01-01 00:00 UTC

INSERT INTO branches (id, name, city, time_zone, utc_offset_minutes, created_at) VALUES
    (1, 'Toshkent', 'Toshkent', 'Asia/Tashkent', 300, 0),
    (2, 'Bishkek', 'Bishkek', 'Asia/Bishkek', 360, 0),
    (3, 'London', 'London', 'UTC', 0, 0),
    (4, 'St Johns', 'St Johns', 'America/St_Johns', -210, 0),
    (5, 'Kolkata', 'Kolkata', 'Asia/Kolkata', 330, 0);

INSERT INTO staff (id, login, full_name, password_hash, role, branch_id, created_at, updated_at)
VALUES (1, 'admin', 'Administrator', '!', 'admin', NULL, 0, 0);

INSERT INTO car_models (id, brand, name, segment, base_price) VALUES
    (1, 'Chevrolet', 'Cobalt', 'sedan', 150000000),
    (2, 'BYD', 'Song Plus', 'electric', 400000000);

-- Birth years cover every age band edge in 2026 (UTC year), plus unknown
-- birth year and unknown gender.
INSERT INTO clients (id, branch_id, full_name, phone, birth_year, gender, source, search_text, created_at, updated_at) VALUES
    (1, 1, 'Aziz Karimov', '+998900000001', 2002, 'male', 'walk_in', 'aziz karimov 998900000001', 0, 0),
    (2, 1, 'Malika Yusupova', '+998900000002', 1990, 'female', 'instagram', 'malika yusupova 998900000002', 0, 0),
    (3, 2, 'Bek', '+998900000003', NULL, 'male', 'referral', 'bek 998900000003', 0, 0),
    (4, 2, 'Dilnoza', '+998900000004', 1975, NULL, 'olx', 'dilnoza 998900000004', 0, 0),
    (5, 3, 'Old Lady', '+998900000005', 1950, 'female', 'other', 'old lady 998900000005', 0, 0),
    (6, 4, 'Teen', '+998900000006', 2008, 'male', 'website', 'teen 998900000006', 0, 0),
    (7, 5, 'Mid', '+998900000007', 1962, 'female', 'billboard', 'mid 998900000007', 0, 0);
INSERT INTO clients (id, branch_id, full_name, phone, birth_year, gender, source, created_at, updated_at) VALUES
    (8, 1, 'Edge', '+998900000008', 1961, 'male', 'telegram', 0, 0),
    (9, 1, 'Sixty Five', '+998900000009', 1961, 'female', 'walk_in', 0, 0),
    (10, 3, 'Twenty Five', '+998900000010', 2001, 'male', 'walk_in', 0, 0),
    (11, 5, 'Thirty Four', '+998900000011', 1992, 'female', 'walk_in', 0, 0),
    (12, 2, 'Forty Four', '+998900000012', 1982, 'male', 'walk_in', 0, 0),
    (13, 4, 'Fifty Four', '+998900000013', 1972, 'female', 'walk_in', 0, 0),
    (14, 1, 'Fifty Five', '+998900000014', 1971, 'male', 'walk_in', 0, 0);

-- Visits: every dwell bucket edge, open and closed, known and unknown,
-- several in one hour (the ON CONFLICT path), local-midnight and New Year
-- edges, a negative stay, a 1970 visit at a negative offset.
INSERT INTO visits (id, visit_token, client_id, branch_id, entered_at, left_at, started_by, ended_by, is_first_visit, created_at) VALUES
    (1, 't1', 1, 1, 1795514400, 1795514400 + 899, 'camera', 'exit_camera', TRUE, 0),
    (2, 't2', 2, 1, 1795514400 + 60, 1795514400 + 60 + 900, 'kiosk', 'manual', TRUE, 0),
    (3, 't3', NULL, 1, 1795514400 + 120, NULL, 'camera', NULL, FALSE, 0),
    (4, 't4', 3, 2, 1795545000, 1795545000 + 1799, 'manual', 'manual', TRUE, 0),
    (5, 't5', 1, 1, 1795545000, 1795545000 + 1800, 'camera', 'exit_camera', FALSE, 0),
    (6, 't6', 4, 2, 1795514400 + 3600, 1795514400 + 3600 + 2699, 'kiosk', 'manual', TRUE, 0),
    (7, 't7', 5, 3, 1795514400, 1795514400 + 2700, 'manual', 'manual', TRUE, 0),
    (8, 't8', 6, 4, 1795514400, 1795514400 + 3599, 'manual', 'manual', TRUE, 0),
    (9, 't9', 7, 5, 1795514400 + 1800, 1795514400 + 1800 + 3600, 'manual', 'manual', TRUE, 0);
INSERT INTO visits (id, visit_token, client_id, branch_id, entered_at, left_at, started_by, ended_by, is_first_visit, created_at) VALUES
    (10, 't10', 8, 1, 1798747200, 1798747200 + 5399, 'camera', 'exit_camera', TRUE, 0),
    (11, 't11', 9, 1, 1798761600, 1798761600 + 5400, 'camera', 'exit_camera', TRUE, 0),
    (12, 't12', 1, 1, 1798747200 + 100, 1798747200 + 100 + 7199, 'kiosk', 'manual', FALSE, 0),
    (13, 't13', 10, 3, 1795514400, 1795514400 + 7200, 'manual', 'manual', TRUE, 0),
    (14, 't14', 11, 5, 1795514400, 1795514400 + 100000, 'manual', 'auto_close', TRUE, 0),
    (15, 't15', 12, 2, 1795514400, 1795514400 - 5, 'manual', 'manual', TRUE, 0),
    (16, 't16', 13, 4, 3600, 7200, 'manual', 'manual', TRUE, 0),
    (17, 't17', 14, 1, 1795514400 + 7200, NULL, 'camera', NULL, TRUE, 0),
    (18, 't18', NULL, 2, 1795514400 + 300, NULL, 'camera', NULL, FALSE, 0),
    (19, 't19', NULL, 3, 1795514400 + 400, NULL, 'camera', NULL, FALSE, 0);

-- Closing several visits in one statement.
UPDATE visits SET left_at = entered_at + 1000, ended_by = 'auto_close' WHERE left_at IS NULL AND branch_id = 1;
-- An unknown visit taken over by a client (kiosk registration).
UPDATE visits SET client_id = 2, is_first_visit = FALSE WHERE id = 18;
-- A visit moved to another client.
UPDATE visits SET client_id = 5 WHERE id = 4;
-- Entered a day earlier.
UPDATE visits SET entered_at = entered_at - 86400 WHERE id = 6;
-- Moved to another branch (offset 0 -> 330).
UPDATE visits SET branch_id = 5 WHERE id = 7;
-- Reopened (the stranger came back from the car).
UPDATE visits SET left_at = NULL, ended_by = NULL WHERE id = 5;
-- A listed column in SET, value unchanged: the triggers still fire in both engines.
UPDATE visits SET left_at = left_at WHERE id = 2;
-- Columns no roll-up trigger lists.
UPDATE visits SET ended_by = 'manual' WHERE id = 1;
-- The camera program's key arrives: the unique-visitor triggers only.
UPDATE visits SET stranger_key = 's-0123456789abcdef' WHERE id = 19;
-- started_by: client_features only.
UPDATE visits SET started_by = 'manual' WHERE id = 9;
-- The birth year changes after the visit was counted: the update trigger
-- subtracts from the band as the client is now (quirk kept as in SQLite).
UPDATE clients SET birth_year = 1980 WHERE id = 2;
UPDATE visits SET left_at = left_at + 10 WHERE id = 2;
UPDATE visits SET is_first_visit = FALSE WHERE id = 13;
-- "Not this person": the visit loses its client.
UPDATE visits SET client_id = NULL, is_first_visit = FALSE WHERE id = 12;

-- Unique visitors: one stranger passing three times on a day (one visitor),
-- again the next day; two visits of one client in one statement (each row's
-- trigger must see only the rows before it); a stranger's visit taken over by
-- a client who is already counted; keys changed by a multi-row UPDATE.
INSERT INTO visits (id, visit_token, client_id, branch_id, entered_at, left_at, started_by, ended_by, is_first_visit, stranger_key, created_at) VALUES
    (21, 't21', NULL, 3, 1795514400 + 500, 1795514400 + 900, 'camera', 'exit_camera', FALSE, 's-00000000000000aa', 0),
    (22, 't22', NULL, 3, 1795514400 + 5000, NULL, 'camera', NULL, FALSE, 's-00000000000000aa', 0),
    (23, 't23', NULL, 3, 1795514400 + 86400, NULL, 'camera', NULL, FALSE, 's-00000000000000aa', 0),
    (24, 't24', 10, 3, 1795514400 + 20000, 1795514400 + 21000, 'camera', 'exit_camera', FALSE, NULL, 0),
    (25, 't25', 10, 3, 1795514400 + 30000, NULL, 'kiosk', NULL, FALSE, NULL, 0),
    (26, 't26', NULL, 3, 1795514400 + 31000, NULL, 'camera', NULL, FALSE, 's-00000000000000aa', 0);
UPDATE visits SET client_id = 10 WHERE id = 22;
UPDATE visits SET stranger_key = 's-00000000000000bb' WHERE id IN (21, 23, 26);
UPDATE visits SET entered_at = entered_at + 86400 WHERE id = 24;

INSERT INTO service_requests (id, visit_id, client_id, branch_id, kind, staff_id, requested_at, note) VALUES
    (1, 1, 1, 1, 'test_drive', 1, 1795514400 + 100, NULL),
    (2, 1, 1, 1, 'credit', 1, 1795514400 + 200, 'note'),
    (3, 3, NULL, 1, 'consultation', NULL, 1795514400 + 300, NULL),
    (4, 4, 5, 2, 'test_drive', NULL, 1795545000 + 10, NULL),
    (5, 5, 1, 1, 'test_drive', NULL, 1795545000 + 20, NULL),
    (6, 9, 7, 5, 'insurance', NULL, 1795514400 + 1800, NULL),
    (7, 16, 13, 4, 'trade_in', NULL, 3700, NULL),
    (9, 10, 8, 1, 'test_drive', NULL, 1798747200 + 50, 'kiosk');
DELETE FROM service_requests WHERE id IN (2, 3);
UPDATE service_requests SET kind = 'purchase_talk' WHERE id = 4;
UPDATE service_requests SET client_id = 3 WHERE id = 4;
UPDATE service_requests SET note = 'no trigger' WHERE id = 1;

INSERT INTO sales (id, client_id, visit_id, branch_id, car_model_id, price, sold_at, staff_id, created_at) VALUES
    (1, 1, 1, 1, 1, 150000000, 1795514400 + 500, 1, 0),
    (2, 2, 2, 1, 2, 400000000, 1795514400 + 600, 1, 0),
    (3, 7, 9, 5, 1, 150000000, 1795514400 + 1900, NULL, 0);
UPDATE sales SET price = 160000000 WHERE id = 1;
UPDATE sales SET sold_at = sold_at + 1 WHERE id = 2;
UPDATE sales SET client_id = 3 WHERE id = 3;
DELETE FROM sales WHERE id = 1;

UPDATE clients SET full_name = 'Aziz K', search_text = 'aziz k 998900000001' WHERE id = 1;
UPDATE clients SET gender = 'female' WHERE id = 4;
UPDATE clients SET first_visit_at = 1795514400 WHERE id IN (1, 2, 3);
UPDATE clients SET source = source WHERE id = 5;
UPDATE clients SET car_model_id = 2 WHERE id = 6;
-- Columns no trigger lists (and data for the ordering checks of verify_inventory.sh).
UPDATE clients SET last_visit_at = 1795514400 + 10 * id WHERE id IN (1, 4, 7, 10, 13);
INSERT INTO clients (id, branch_id, full_name, phone, birth_year, gender, source, created_at, updated_at) VALUES
    (16, 2, 'Ёқубов Ёрқин', '+998900000016', 1999, 'male', 'walk_in', 0, 0),
    (17, 2, 'bek lowercase', '+998900000017', NULL, NULL, 'walk_in', 0, 0),
    (18, 2, 'Zafar Ümarov', '+998900000018', 1988, 'male', 'walk_in', 0, 0);

-- A bulk load pauses the triggers.
INSERT INTO settings (key, value) VALUES ('rollups_paused', '1');
INSERT INTO clients (id, branch_id, full_name, phone, birth_year, gender, source, created_at, updated_at)
VALUES (15, 1, 'Paused', '+998900000015', 1985, 'female', 'walk_in', 0, 0);
INSERT INTO visits (id, visit_token, client_id, branch_id, entered_at, left_at, started_by, ended_by, is_first_visit, created_at)
VALUES (20, 't20', 15, 1, 1795514400 + 9000, 1795514400 + 10000, 'kiosk', 'manual', TRUE, 0);
INSERT INTO service_requests (id, visit_id, client_id, branch_id, kind, requested_at) VALUES
    (8, 20, 15, 1, 'credit', 1795514400 + 9100),
    (10, 20, 15, 1, 'consultation', 1795514400 + 9200);
UPDATE visits SET left_at = left_at + 1 WHERE id = 1;
UPDATE clients SET gender = 'male' WHERE id = 5;
DELETE FROM settings WHERE key = 'rollups_paused';
-- Unpaused again: updating a visit the roll-ups never counted, deleting a
-- service they never counted.
UPDATE visits SET left_at = left_at + 60 WHERE id = 20;
DELETE FROM service_requests WHERE id = 8;
-- After a bulk load every client gets a features row (one form valid on both engines).
INSERT INTO client_features (client_id) SELECT id FROM clients WHERE erased_at IS NULL ON CONFLICT DO NOTHING;

-- Deletions.
DELETE FROM visits WHERE id = 17;
DELETE FROM service_requests WHERE id = 7;

-- An erasure keeps visits, birth year and gender.
UPDATE clients SET full_name = NULL, phone = NULL, search_text = '', erased_at = 1795514400 WHERE id = 6;
