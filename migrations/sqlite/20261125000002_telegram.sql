-- Which linked staff member already got which notification, so a retry after
-- a Telegram outage sends each message to each recipient exactly once.
CREATE TABLE notification_deliveries (
    outbox_id INTEGER NOT NULL REFERENCES notification_outbox (id),
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (outbox_id, staff_id)
) WITHOUT ROWID;
