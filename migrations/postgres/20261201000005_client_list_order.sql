-- PostgreSQL only: the client list's default order (last visit first, never-visited clients
-- last, then newest id) read from an index, as SQLite reads it from clients_last_visit, instead
-- of sorting every client for the first page.
CREATE INDEX clients_list_order ON clients (last_visit_at DESC NULLS LAST, id DESC)
    WHERE erased_at IS NULL;
