-- The languages a help center is published in, space-separated, first the
-- fallback; empty means the defaults (ru, en, th).
ALTER TABLE help_settings ADD COLUMN languages TEXT NOT NULL DEFAULT '';
