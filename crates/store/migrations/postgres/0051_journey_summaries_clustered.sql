-- SQLite stores the summaries in key order from here on (WITHOUT ROWID);
-- PostgreSQL reads a workspace's summaries by its primary key as before.
SELECT 1;
