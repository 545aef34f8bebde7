-- 032: the version of a clinic's templates and provider mappings. Every
-- write of a template, a WhatsApp or an MSG91 mapping moves it, in the
-- writer's transaction (clinic_tmpl_touch, called by tmpl_store.c), so a
-- handle that cached what a single enqueue resolves (the template, its
-- mappings: tmpl_cache_get) reads it again once the version has moved,
-- whichever process wrote. A version, not a trigger: migrate-store copies
-- it as it is, and its checksums hold.
ALTER TABLE clinics ADD COLUMN tmpl_version INTEGER NOT NULL DEFAULT 0;
