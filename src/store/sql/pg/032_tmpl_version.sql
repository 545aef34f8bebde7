-- 032: the version of a clinic's templates and provider mappings;
-- sqlite/032 says what moves it and who reads it.
ALTER TABLE clinics ADD COLUMN tmpl_version BIGINT NOT NULL DEFAULT 0;
