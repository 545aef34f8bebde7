-- 008: what only one provider needs travels in one opaque field (see the
-- SQLite twin for the shape). The four provider columns become members of
-- one JSON object the queue stores without reading:
--   {"whatsapp": <wa_template>, "msg91": <msg91_flow>,
--    "invite": {"method": <ics_method>, "ics": <ics>}}
-- jsonb_strip_nulls drops the members whose column was NULL; the text is
-- what the transports parse, so it is stored as TEXT, as on SQLite.

ALTER TABLE notification_queue ADD COLUMN transport_data TEXT;

UPDATE notification_queue SET transport_data = jsonb_strip_nulls(jsonb_build_object(
    'whatsapp', wa_template::jsonb,
    'msg91', msg91_flow::jsonb,
    'invite', CASE WHEN ics IS NULL THEN NULL
                   ELSE jsonb_build_object('method', COALESCE(ics_method, 'REQUEST'), 'ics', ics) END))::text
WHERE wa_template IS NOT NULL OR msg91_flow IS NOT NULL OR ics IS NOT NULL;

ALTER TABLE notification_queue DROP COLUMN wa_template;
ALTER TABLE notification_queue DROP COLUMN msg91_flow;
ALTER TABLE notification_queue DROP COLUMN ics;
ALTER TABLE notification_queue DROP COLUMN ics_method;
