-- The SELECT halves of app/src/stats/ssr/rollups.rs::rebuild_rollups as SQLite
-- runs them today (dwell bounds as the Rust code formats them).
SELECT '== rebuild stats_hourly';
SELECT v.branch_id, (v.entered_at + b.utc_offset_minutes * 60) / 86400 AS day,
       ((v.entered_at + b.utc_offset_minutes * 60) % 86400) / 3600 AS hour, COUNT(*),
       SUM(CASE WHEN v.is_first_visit THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.client_id IS NOT NULL AND NOT v.is_first_visit THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.client_id IS NULL THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.left_at - v.entered_at >= -4611686018427387904 AND v.left_at - v.entered_at < 900 THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.left_at - v.entered_at >= 900 AND v.left_at - v.entered_at < 1800 THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.left_at - v.entered_at >= 1800 AND v.left_at - v.entered_at < 2700 THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.left_at - v.entered_at >= 2700 AND v.left_at - v.entered_at < 3600 THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.left_at - v.entered_at >= 3600 AND v.left_at - v.entered_at < 5400 THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.left_at - v.entered_at >= 5400 AND v.left_at - v.entered_at < 7200 THEN 1 ELSE 0 END),
       SUM(CASE WHEN v.left_at - v.entered_at >= 7200 AND v.left_at - v.entered_at < 4611686018427387903 THEN 1 ELSE 0 END)
FROM visits v JOIN branches b ON b.id = v.branch_id GROUP BY v.branch_id, day, hour
ORDER BY day, hour, v.branch_id;
SELECT '== rebuild stats_services_daily';
SELECT s.branch_id, (s.requested_at + b.utc_offset_minutes * 60) / 86400 AS day, s.kind, COUNT(*)
FROM service_requests s JOIN branches b ON b.id = s.branch_id GROUP BY s.branch_id, day, s.kind
ORDER BY day, s.kind, s.branch_id;
SELECT '== rebuild stats_demographics_daily';
SELECT v.branch_id, (v.entered_at + b.utc_offset_minutes * 60) / 86400 AS day,
       CASE WHEN c.birth_year IS NULL THEN -1
            WHEN CAST(strftime('%Y', v.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 25 THEN 0
            WHEN CAST(strftime('%Y', v.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 35 THEN 1
            WHEN CAST(strftime('%Y', v.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 45 THEN 2
            WHEN CAST(strftime('%Y', v.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 55 THEN 3
            WHEN CAST(strftime('%Y', v.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 65 THEN 4 ELSE 5 END AS band,
       COALESCE(c.gender, 'unknown') AS g, COUNT(*)
FROM visits v JOIN branches b ON b.id = v.branch_id JOIN clients c ON c.id = v.client_id
GROUP BY v.branch_id, day, band, g
ORDER BY day, band, g, v.branch_id;
SELECT '== rebuild stats_visitors_daily';
SELECT branch_id, day, COUNT(DISTINCT visitor) FROM (
    SELECT v.branch_id, (v.entered_at + b.utc_offset_minutes * 60) / 86400 AS day,
           CASE WHEN v.client_id IS NOT NULL THEN 'c' || CAST(v.client_id AS TEXT)
                WHEN v.stranger_key IS NOT NULL THEN 's' || v.stranger_key
                ELSE 'v' || CAST(v.id AS TEXT) END AS visitor
    FROM visits v JOIN branches b ON b.id = v.branch_id
) AS people GROUP BY branch_id, day
ORDER BY day, branch_id;
