/*
 * routes.c: every route of the API in one table: method, path, handler,
 * and the weakest role that may call it. docs/openapi.json describes the
 * same routes; a test holds the two together.
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
H(api_prescription_create); H(api_prescription_list); H(api_prescription_get);
H(api_prescription_stop); H(api_reminder_list); H(api_reminder_cancel_where);
H(api_recall_rule_create); H(api_recall_rule_list); H(api_recall_list); H(api_recall_close);
H(api_twilio_status); H(api_twilio_inbound); H(api_whatsapp_verify); H(api_whatsapp_events);
H(api_msg91_status);
#undef H

#define ADMIN NUDGE_ROLE_ADMIN
#define STAFF NUDGE_ROLE_STAFF
#define ANY NUDGE_ROLE_INTEGRATION

const http_route http_routes[] = {
    {"GET", "/healthz", api_healthz, 0},
    {"GET", "/readyz", api_readyz, 0},
    {"GET", "/openapi.json", api_openapi, 0},
    {"GET", "/metrics", api_metrics, 0},
    {"GET", "/v1/clinic", api_clinic_get, ANY},
    {"PATCH", "/v1/clinic", api_clinic_update, ADMIN},
    {"POST", "/v1/patients", api_patient_create, ANY},
    {"GET", "/v1/patients", api_patient_list, ANY},
    {"GET", "/v1/patients/{id}", api_patient_get, ANY},
    {"PATCH", "/v1/patients/{id}", api_patient_update, ANY},
    {"GET", "/v1/patients/{id}/reminders", api_patient_reminders, ANY},
    {"POST", "/v1/reminders/{id}/cancel", api_reminder_cancel, STAFF},
    {"GET", "/v1/reminders", api_reminder_list, ANY},
    {"POST", "/v1/reminders/cancel", api_reminder_cancel_where, STAFF},
    {"POST", "/v1/prescriptions", api_prescription_create, ANY},
    {"GET", "/v1/prescriptions", api_prescription_list, ANY},
    {"GET", "/v1/prescriptions/{id}", api_prescription_get, ANY},
    {"POST", "/v1/prescriptions/{id}/stop", api_prescription_stop, STAFF},
    {"GET", "/v1/recalls", api_recall_list, ANY},
    {"POST", "/v1/recalls/{id}/close", api_recall_close, STAFF},
    {"GET", "/v1/recalls/rules", api_recall_rule_list, ANY},
    {"POST", "/v1/recalls/rules", api_recall_rule_create, STAFF},
    {"POST", "/v1/appointments", api_appointment_create, ANY},
    {"GET", "/v1/appointments", api_appointment_list, ANY},
    {"GET", "/v1/appointments/{id}", api_appointment_get, ANY},
    {"PATCH", "/v1/appointments/{id}", api_appointment_update, ANY},
    {"GET", "/v1/appointments/{id}/reminders", api_appointment_reminders, ANY},
    {"POST", "/v1/appointments/{id}/{action}", api_appointment_action, ANY},
    {"GET", "/v1/templates", api_template_list, ANY},
    {"GET", "/v1/templates/{name}/{language}", api_template_get, ANY},
    {"PUT", "/v1/templates/{name}/{language}", api_template_put, STAFF},
    {"POST", "/v1/templates/{name}/{language}/render", api_template_render, ANY},
    {"PUT", "/v1/templates/{name}/{language}/whatsapp", api_template_map_whatsapp, STAFF},
    {"PUT", "/v1/templates/{name}/{language}/msg91", api_template_map_msg91, STAFF},
    {"POST", "/v1/notifications", api_notification_create, ANY},
    {"GET", "/v1/notifications", api_notification_list, ANY},
    {"GET", "/v1/notifications/{id}", api_notification_get, ANY},
    {"POST", "/v1/notifications/{id}/{action}", api_notification_action, STAFF},
    {"GET", "/v1/queue/status", api_queue_status, ANY},
    {"GET", "/v1/keys", api_key_list, ADMIN},
    {"POST", "/v1/keys", api_key_create, ADMIN},
    {"POST", "/v1/keys/{id}/revoke", api_key_revoke, ADMIN},
    {"GET", "/v1/audit", api_audit_list, ADMIN},
    /* Providers: no API key, their own signatures instead. */
    {"POST", "/webhooks/twilio/status", api_twilio_status, 0},
    {"POST", "/webhooks/twilio/inbound", api_twilio_inbound, 0},
    {"GET", "/webhooks/whatsapp", api_whatsapp_verify, 0},
    {"POST", "/webhooks/whatsapp", api_whatsapp_events, 0},
    {"POST", "/webhooks/msg91/status", api_msg91_status, 0},
    {NULL, NULL, NULL, 0},
};
