-- 002: channel events remember who caused them (target.except), so a feed can leave out the reader's own
-- events without looking into bodies; idempotency records get an index on age for pruning.
ALTER TABLE events ADD COLUMN except_player INTEGER;
CREATE INDEX idempotency_at ON idempotency(at);
