-- A sale form carries a submission id: a double click or a resent request
-- finds the sale it already recorded instead of recording a second one.
ALTER TABLE sales ADD COLUMN submission_id TEXT;
CREATE UNIQUE INDEX sales_submission ON sales (submission_id) WHERE submission_id IS NOT NULL;
