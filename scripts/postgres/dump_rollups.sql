-- The trigger-maintained tables, in a text form both engines print alike
-- (sqlite3 -list -separator '|' -noheader; psql -X -A -t -F '|').
SELECT '== stats_hourly';
SELECT branch_id, day, hour, visits, new_visits, returning_visits, unknown_visits,
       dwell0, dwell1, dwell2, dwell3, dwell4, dwell5, dwell6
FROM stats_hourly ORDER BY day, hour, branch_id;
SELECT '== stats_services_daily';
SELECT branch_id, day, kind, requests FROM stats_services_daily ORDER BY day, kind, branch_id;
SELECT '== stats_demographics_daily';
SELECT branch_id, day, band, gender, visits FROM stats_demographics_daily ORDER BY day, band, gender, branch_id;
SELECT '== stats_visitors_daily';
SELECT branch_id, day, visitors FROM stats_visitors_daily ORDER BY day, branch_id;
SELECT '== client_features';
SELECT client_id, changes, first_visit_at, training_cutoff, scoring_cutoff,
       CASE WHEN bought IS NULL THEN 'null' WHEN bought THEN 'true' ELSE 'false' END,
       CASE WHEN training IS NULL THEN 'null' ELSE 'set' END,
       CASE WHEN scoring IS NULL THEN 'null' ELSE 'set' END
FROM client_features ORDER BY client_id;
