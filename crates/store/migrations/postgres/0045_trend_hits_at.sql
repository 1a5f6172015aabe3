-- Hits older than any window a trend is judged over are deleted hourly
-- (engine::housekeeping), found by their moment.
CREATE INDEX trend_hits_at ON trend_hits (at);
