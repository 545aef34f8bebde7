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
H(api_staff_list); H(api_staff_create); H(api_staff_remove);
H(api_webhook_list); H(api_webhook_create); H(api_webhook_remove); H(api_webhook_deliveries);
H(api_segment_list); H(api_segment_create); H(api_segment_preview); H(api_segment_get);
H(api_broadcast_list); H(api_broadcast_create); H(api_broadcast_get); H(api_broadcast_stats);
H(api_broadcast_action);
/* support tickets, the FAQ, loyalty (issue 10; care.c) */
H(api_ticket_list); H(api_ticket_open); H(api_ticket_get); H(api_ticket_action);
H(api_faq_list); H(api_faq_add); H(api_faq_match); H(api_faq_remove);
H(api_loyalty_get); H(api_loyalty_post); H(api_loyalty_rules);
H(api_workflow_list); H(api_workflow_get); H(api_workflow_put); H(api_workflow_runs);
H(api_workflow_run_get); H(api_stats);
H(api_patient_consent); H(api_patient_consent_record); H(api_usage); H(api_unsubscribe);
H(api_plan);
H(api_tiers);
H(api_template_preview);
H(api_prescription_change); H(api_lab_create); H(api_lab_list); H(api_lab_done);
H(api_followup_create); H(api_patient_ready);
H(api_notification_batch);
/* issue 10's settings: the FAQ's threshold (care.c), the digest's time (staff.c) */
H(api_faq_threshold); H(api_staff_digest);
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
    {"GET", "/v1/appointments", api_appointment_list, ANY,
     "limit after:id patient_id:id status from to"},
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
    {"GET", "/v1/notifications", api_notification_list, ANY,
     "limit after:id status patient_id:id appointment_id:id channel from to"},
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
    {"GET", "/v1/staff", api_staff_list, STAFF, NULL},
    {"POST", "/v1/staff", api_staff_create, ADMIN, NULL},
    {"POST", "/v1/staff/{id}/remove", api_staff_remove, ADMIN, NULL},
    {"GET", "/v1/webhooks", api_webhook_list, ADMIN, NULL},
    {"POST", "/v1/webhooks", api_webhook_create, ADMIN, NULL},
    {"POST", "/v1/webhooks/{id}/remove", api_webhook_remove, ADMIN, NULL},
    {"GET", "/v1/webhooks/{id}/deliveries", api_webhook_deliveries, ADMIN, "limit"},
    {"GET", "/v1/segments", api_segment_list, STAFF, NULL},
    {"POST", "/v1/segments", api_segment_create, STAFF, NULL},
    {"POST", "/v1/segments/preview", api_segment_preview, STAFF, NULL},
    {"GET", "/v1/segments/{id}", api_segment_get, STAFF, NULL},
    {"GET", "/v1/broadcasts", api_broadcast_list, STAFF, NULL},
    {"POST", "/v1/broadcasts", api_broadcast_create, STAFF, NULL},
    {"GET", "/v1/broadcasts/{id}", api_broadcast_get, STAFF, NULL},
    {"GET", "/v1/broadcasts/{id}/stats", api_broadcast_stats, STAFF, NULL},
    {"POST", "/v1/broadcasts/{id}/{action}", api_broadcast_action, STAFF, NULL},
    /* support tickets, the FAQ, loyalty (issue 10; care.c) */
    {"GET", "/v1/tickets", api_ticket_list, STAFF, "limit after:id status"},
    {"POST", "/v1/tickets", api_ticket_open, ANY, NULL},
    {"GET", "/v1/tickets/{id}", api_ticket_get, STAFF, NULL},
    {"POST", "/v1/tickets/{id}/{action}", api_ticket_action, STAFF, NULL},
    {"GET", "/v1/faq", api_faq_list, STAFF, "language"},
    {"POST", "/v1/faq", api_faq_add, ADMIN, NULL},
    {"POST", "/v1/faq/match", api_faq_match, STAFF, NULL},
    {"POST", "/v1/faq/{id}/remove", api_faq_remove, ADMIN, NULL},
    {"GET", "/v1/patients/{id}/loyalty", api_loyalty_get, STAFF, "limit"},
    {"POST", "/v1/patients/{id}/loyalty", api_loyalty_post, STAFF, NULL},
    {"GET", "/v1/loyalty/rules", api_loyalty_rules, STAFF, NULL},
    {"PUT", "/v1/loyalty/rules", api_loyalty_rules, ADMIN, NULL},
    {"GET", "/v1/workflows", api_workflow_list, STAFF, NULL},
    {"GET", "/v1/workflows/{name}", api_workflow_get, STAFF, "version"},
    {"PUT", "/v1/workflows/{name}", api_workflow_put, STAFF, NULL},
    {"GET", "/v1/workflow-runs", api_workflow_runs, STAFF, "limit before:id workflow from to"},
    {"GET", "/v1/workflow-runs/{id}", api_workflow_run_get, STAFF, NULL},
    {"GET", "/v1/stats", api_stats, STAFF, "from to"},
    {"POST", "/v1/templates/preview", api_template_preview, ANY, NULL},
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
    /* issue 17: consent and usage (http/consent.c); the unsubscribe link
     * has no API key, its signature instead. */
    {"GET", "/v1/patients/{id}/consent", api_patient_consent, ANY, NULL},
    {"POST", "/v1/patients/{id}/consent", api_patient_consent_record, ANY, NULL},
    {"GET", "/v1/usage", api_usage, STAFF, "month"},
    {"GET", "/unsubscribe", api_unsubscribe, 0, NULL},
    {"POST", "/unsubscribe", api_unsubscribe, 0, NULL},
    /* issue 16: many notifications in one transaction (http/notifications.c) */
    {"POST", "/v1/notifications:batch", api_notification_batch, ANY, NULL},
    /* issue 10's settings, read by staff and set by an admin as the
     * loyalty rules are */
    {"GET", "/v1/faq/threshold", api_faq_threshold, STAFF, NULL},
    {"PUT", "/v1/faq/threshold", api_faq_threshold, ADMIN, NULL},
    {"GET", "/v1/staff/digest", api_staff_digest, STAFF, NULL},
    {"PUT", "/v1/staff/digest", api_staff_digest, ADMIN, NULL},
    /* issue 17: the clinic's plan and grace (http/consent.c) */
    {"GET", "/v1/plan", api_plan, STAFF, NULL},
    {"PUT", "/v1/plan", api_plan, ADMIN, NULL},
    {"GET", "/v1/tiers", api_tiers, STAFF, NULL},
    {NULL, NULL, NULL, 0, NULL},
};
