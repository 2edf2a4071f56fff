-- PostgreSQL translation of migrations/sqlite/20261125000002_telegram.sql.
-- Which linked staff member already got which notification, so a retry after
-- a Telegram outage sends each message to each recipient exactly once.
-- (WITHOUT ROWID dropped: no PostgreSQL counterpart, same primary key.)
CREATE TABLE notification_deliveries (
    outbox_id BIGINT NOT NULL REFERENCES notification_outbox (id),
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (outbox_id, staff_id)
);
