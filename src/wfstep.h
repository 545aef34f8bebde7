/*
 * wfstep.h: the contract between the workflow engine (workflow.c) and the
 * subsystems that give it kinds of step (loyalty, tickets, staff
 * notifications, outgoing webhooks, and an embedder's own through the C
 * API). The engine owns definitions, runs and their history; a step kind
 * owns only what one step does.
 *
 * Why a step does store writes only: the engine runs each step in a write
 * transaction of its own that also records the step's result (and moves
 * the run on to the next step), so the step's
 * effect commits exactly when its result does. A crash before the commit
 * leaves neither, and the step runs again; after it, both, and it does not.
 * Anything that leaves the process (a message, an HTTP call) is therefore
 * enqueued, never performed, by a step: the queue or the outgoing-webhook
 * deliveries carry it out later with their own retries.
 */
#ifndef NUDGE_WFSTEP_H
#define NUDGE_WFSTEP_H

#include <jansson.h>
#include <stdint.h>

#include "core.h"

/* What a step sees of the run it belongs to. Borrowed for the call. */
typedef struct wf_ctx {
    nudge *n;
    int64_t clinic_id;
    int64_t run_id;         /* workflow_runs.id */
    int step;               /* index of this step in the definition */
    int64_t event_id;       /* the event that started the run */
    const char *event_type; /* "appointment.booked", ... */
    int64_t subject_id;     /* the event's subject row (0: none) */
    const json_t *event;    /* the event's payload object */
    int64_t now;            /* the instant the run holds */
} wf_ctx;

/* One kind of step, found by name ("loyalty.add") in a definition.
 * validate: the step's "args" object as a clinic saved it; path names the
 *   step ("steps[2]"), so an error names its field as path + "." + key
 *   ("steps[2].points"). Returns 0, or -1 with err set (NUDGE_EINVAL).
 * run: inside the step's write transaction (see above). *result may be set
 *   to a JSON object the engine stores as the step's result and then owns.
 *   Returns 0, or -1 with err set: the step failed; the engine rolls its
 *   writes back and records the error in a transaction of its own. */
typedef struct wf_step_kind {
    const char *name;
    int (*validate)(nudge *n, const json_t *args, const char *path, nudge_err *err);
    int (*run)(wf_ctx *c, const json_t *args, json_t **result, nudge_err *err);
} wf_step_kind;

/* Two members of a step's result the engine reads (workflow.c), so a kind
 * can steer its run: "stop": true ends the run after this step (stop_if,
 * or an auto-resolved ticket that needs no escalation); "wait_until": T
 * (seconds) holds the next step until T, durably (wait). The kinds are
 * listed in workflow.c's wf_kinds[], each declared in its owner's header
 * as `extern const wf_step_kind x_step;`. */

#endif
