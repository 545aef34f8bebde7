/*
 * routes.c: every route of the API in one table: method, path, handler,
 * the weakest role that may call it, and the query parameters it takes
 * (request.c refuses others). docs/openapi.json describes the same routes;
 * a test holds the two together.
 */
#include "http/http.h"

#define H(name) int name(http_req *r)
H(api_healthz); H(api_readyz); H(api_openapi); H(api_metrics);
H(api_clinic_get); H(api_clinic_update);
H(api_patient_create); H(api_patient_list); H(api_patient_get); H(api_patient_update);
H(api_patient_reminders); H(api_reminder_cancel); H(api_appointment_update);
H(api_appointment_create); H(api_appointment_list); H(api_appointment_get);
H(api_appointment_reminders); H(api_appointment_action);
H(api_template_list); H(api_template_get); H(api_template_put); H(api_template_render);
H(api_template_map_whatsapp); H(api_template_map_msg91);
H(api_notification_create); H(api_notification_list); H(api_notification_get);
H(api_notification_action); H(api_queue_status);
H(api_key_list); H(api_key_create); H(api_key_revoke);
H(api_audit_list);
H(api_task_list); H(api_task_create); H(api_task_get); H(api_task_runs); H(api_task_action);
H(api_prescription_create); H(api_prescription_list); H(api_prescription_get);
H(api_prescription_stop); H(api_reminder_list); H(api_reminder_cancel_where);
H(api_recall_rule_create); H(api_recall_rule_list); H(api_recall_list); H(api_recall_close);
H(api_twilio_status); H(api_twilio_inbound); H(api_whatsapp_verify); H(api_whatsapp_events);
H(api_msg91_status);
H(api_prescription_change); H(api_lab_create); H(api_lab_list); H(api_lab_done);
H(api_followup_create); H(api_patient_ready);
#undef H

#define ADMIN NUDGE_ROLE_ADMIN
#define STAFF NUDGE_ROLE_STAFF
#define ANY NUDGE_ROLE_INTEGRATION

const http_route http_routes[] = {
    {"GET", "/healthz", api_healthz, 0, NULL},
    {"GET", "/readyz", api_readyz, 0, NULL},
    {"GET", "/openapi.json", api_openapi, 0, NULL},
    {"GET", "/metrics", api_metrics, 0, NULL},
    {"GET", "/v1/clinic", api_clinic_get, ANY, NULL},
    {"PATCH", "/v1/clinic", api_clinic_update, ADMIN, NULL},
    {"POST", "/v1/patients", api_patient_create, ANY, NULL},
    {"GET", "/v1/patients", api_patient_list, ANY, "limit after:id"},
    {"GET", "/v1/patients/{id}", api_patient_get, ANY, NULL},
    {"PATCH", "/v1/patients/{id}", api_patient_update, ANY, NULL},
    {"GET", "/v1/patients/{id}/reminders", api_patient_reminders, ANY, NULL},
    {"POST", "/v1/reminders/{id}/cancel", api_reminder_cancel, STAFF, NULL},
    {"GET", "/v1/reminders", api_reminder_list, ANY, "patient_id:id subject"},
    {"POST", "/v1/reminders/cancel", api_reminder_cancel_where, STAFF, NULL},
    {"POST", "/v1/prescriptions", api_prescription_create, ANY, NULL},
    {"GET", "/v1/prescriptions", api_prescription_list, ANY, "patient_id:id"},
    {"GET", "/v1/prescriptions/{id}", api_prescription_get, ANY, NULL},
    {"POST", "/v1/prescriptions/{id}/stop", api_prescription_stop, STAFF, NULL},
    {"GET", "/v1/recalls", api_recall_list, ANY, "patient_id:id"},
    {"POST", "/v1/recalls/{id}/close", api_recall_close, STAFF, NULL},
    {"GET", "/v1/recalls/rules", api_recall_rule_list, ANY, NULL},
    {"POST", "/v1/recalls/rules", api_recall_rule_create, STAFF, NULL},
    {"POST", "/v1/appointments", api_appointment_create, ANY, NULL},
    {"GET", "/v1/appointments", api_appointment_list, ANY, "limit after:id patient_id:id status"},
    {"GET", "/v1/appointments/{id}", api_appointment_get, ANY, NULL},
    {"PATCH", "/v1/appointments/{id}", api_appointment_update, ANY, NULL},
    {"GET", "/v1/appointments/{id}/reminders", api_appointment_reminders, ANY, NULL},
    {"POST", "/v1/appointments/{id}/{action}", api_appointment_action, ANY, NULL},
    {"GET", "/v1/templates", api_template_list, ANY, NULL},
    {"GET", "/v1/templates/{name}/{language}", api_template_get, ANY, NULL},
    {"PUT", "/v1/templates/{name}/{language}", api_template_put, STAFF, NULL},
    {"POST", "/v1/templates/{name}/{language}/render", api_template_render, ANY, NULL},
    {"PUT", "/v1/templates/{name}/{language}/whatsapp", api_template_map_whatsapp, STAFF, NULL},
    {"PUT", "/v1/templates/{name}/{language}/msg91", api_template_map_msg91, STAFF, NULL},
    {"POST", "/v1/notifications", api_notification_create, ANY, NULL},
    {"GET", "/v1/notifications", api_notification_list, ANY, "limit after:id status"},
    {"GET", "/v1/notifications/{id}", api_notification_get, ANY, NULL},
    {"POST", "/v1/notifications/{id}/{action}", api_notification_action, STAFF, NULL},
    {"GET", "/v1/queue/status", api_queue_status, ANY, NULL},
    {"GET", "/v1/keys", api_key_list, ADMIN, NULL},
    {"POST", "/v1/keys", api_key_create, ADMIN, NULL},
    {"POST", "/v1/keys/{id}/revoke", api_key_revoke, ADMIN, NULL},
    {"GET", "/v1/audit", api_audit_list, ADMIN, "limit before:id after"},
    {"GET", "/v1/tasks", api_task_list, STAFF, NULL},
    {"POST", "/v1/tasks", api_task_create, ADMIN, NULL},
    {"GET", "/v1/tasks/{id}", api_task_get, STAFF, NULL},
    {"GET", "/v1/tasks/{id}/runs", api_task_runs, STAFF, "limit"},
    {"POST", "/v1/tasks/{id}/{action}", api_task_action, ADMIN, NULL},
    {"POST", "/v1/prescriptions/{id}/change", api_prescription_change, STAFF, NULL},
    {"POST", "/v1/labs", api_lab_create, ANY, NULL},
    {"GET", "/v1/labs", api_lab_list, ANY, "patient_id:id"},
    {"POST", "/v1/labs/{id}/done", api_lab_done, STAFF, NULL},
    {"POST", "/v1/follow-ups", api_followup_create, ANY, NULL},
    {"POST", "/v1/patients/{id}/ready", api_patient_ready, ANY, NULL},
    /* Providers: no API key, their own signatures instead. */
    {"POST", "/webhooks/twilio/status", api_twilio_status, 0, NULL},
    {"POST", "/webhooks/twilio/inbound", api_twilio_inbound, 0, NULL},
    {"GET", "/webhooks/whatsapp", api_whatsapp_verify, 0, NULL},
    {"POST", "/webhooks/whatsapp", api_whatsapp_events, 0, NULL},
    {"POST", "/webhooks/msg91/status", api_msg91_status, 0, NULL},
    {NULL, NULL, NULL, 0, NULL},
};
