-- 008: what only one provider needs travels in one opaque field. A
-- notification's WhatsApp template (or document), MSG91 DLT flow and
-- calendar invitation were four columns of the queue; they become members
-- of one JSON object the queue stores without reading, each transport
-- taking its own:
--   {"whatsapp": <wa_template>, "msg91": <msg91_flow>,
--    "invite": {"method": <ics_method>, "ics": <ics>}}
-- (members absent when the old column was NULL; NULL when all were).

ALTER TABLE notification_queue ADD COLUMN transport_data TEXT;

-- json_patch onto {} drops the members whose value is null (RFC 7396).
UPDATE notification_queue SET transport_data = json_patch('{}', json_object(
    'whatsapp', json(wa_template),
    'msg91', json(msg91_flow),
    'invite', CASE WHEN ics IS NULL THEN NULL
                   ELSE json_object('method', COALESCE(ics_method, 'REQUEST'), 'ics', ics) END))
WHERE wa_template IS NOT NULL OR msg91_flow IS NOT NULL OR ics IS NOT NULL;

-- No index, view or trigger names them, so SQLite (3.35+) drops them
-- in place.
ALTER TABLE notification_queue DROP COLUMN wa_template;
ALTER TABLE notification_queue DROP COLUMN msg91_flow;
ALTER TABLE notification_queue DROP COLUMN ics;
ALTER TABLE notification_queue DROP COLUMN ics_method;
