-- Data written before the roll-up migration exists (applied right after
-- 20261124000001_domain.sql): the later migrations' backfill INSERTs must
-- build the same roll-ups on both engines.
INSERT INTO branches (id, name, city, time_zone, utc_offset_minutes, created_at) VALUES
    (1, 'Toshkent', 'Toshkent', 'Asia/Tashkent', 300, 0),
    (2, 'Bishkek', 'Bishkek', 'Asia/Bishkek', 360, 0),
    (3, 'St Johns', 'St Johns', 'America/St_Johns', -210, 0);
INSERT INTO clients (id, branch_id, full_name, phone, birth_year, gender, source, created_at, updated_at, erased_at) VALUES
    (1, 1, 'A', '+998900000001', 2002, 'male', 'walk_in', 0, 0, NULL),
    (2, 2, 'B', '+998900000002', NULL, NULL, 'walk_in', 0, 0, NULL),
    (3, 3, 'C', '+998900000003', 1961, 'female', 'walk_in', 0, 0, NULL),
    (4, 1, NULL, NULL, 1990, 'female', 'walk_in', 0, 0, 1795514400);
INSERT INTO visits (id, visit_token, client_id, branch_id, entered_at, left_at, started_by, ended_by, is_first_visit, created_at) VALUES
    (1, 'b1', 1, 1, 1795514400, 1795514400 + 899, 'camera', 'exit_camera', TRUE, 0),
    (2, 'b2', 1, 1, 1798747200, 1798747200 + 7200, 'camera', 'exit_camera', FALSE, 0),
    (3, 'b3', NULL, 1, 1795514400 + 10, NULL, 'camera', NULL, FALSE, 0),
    (4, 'b4', 2, 2, 1795545000, 1795545000 + 2000, 'kiosk', 'manual', TRUE, 0),
    (5, 'b5', 3, 3, 3600, 3600 + 5400, 'manual', 'manual', TRUE, 0),
    (6, 'b6', 4, 1, 1795514400 + 30, 1795514400 + 4000, 'manual', 'manual', TRUE, 0),
    (7, 'b7', 3, 3, 1798761600, 1798761600 + 1, 'manual', 'manual', FALSE, 0);
INSERT INTO service_requests (id, visit_id, client_id, branch_id, kind, requested_at) VALUES
    (1, 1, 1, 1, 'test_drive', 1795514400 + 100),
    (2, 3, NULL, 1, 'credit', 1795514400 + 200),
    (3, 4, 2, 2, 'test_drive', 1795545000 + 100),
    (4, 5, 3, 3, 'insurance', 3700);
