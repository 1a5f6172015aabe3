-- What a person chose for themselves (domain::user::Preferences as JSON):
-- language, time zone, signature, which alerts they get.
ALTER TABLE users ADD COLUMN preferences TEXT NOT NULL DEFAULT '{}';
