-- PostgreSQL translation of migrations/sqlite/20261201000001_lead_rank.sql.
-- The potential-buyers list reads scores best first, ties by client id: an
-- index in exactly that order lets a page stop after its rows instead of
-- sorting every client (93 ms per page on 100,000 clients, seconds under load).
DROP INDEX client_scores_probability;
CREATE INDEX client_scores_rank ON client_scores (probability DESC, client_id);
