/*
 * mail.h: the pieces of an email message that the SMTP and outbox channels
 * share, so the outbox writes exactly the message SMTP would send.
 */
#ifndef NUDGE_MAIL_H
#define NUDGE_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "channel/channel.h"

int mail_address_ok(const char *addr);
/* "<nudge.<id>.<16 hex>@domain-of-from>" into buf. */
int mail_message_id(int64_t id, const char *from_addr, char *buf, size_t n);
/* NULL-terminated header lines (From, To, Subject, Date, Message-ID,
 * Reply-To); free with mail_headers_free. */
char **mail_headers(const channel_msg *m, const char *from_addr, const char *message_id);
void mail_headers_free(char **v);

#endif
