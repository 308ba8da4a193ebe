#include "session/contactinfo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct contact_payload *contactinfo_payload_new(const Switchboard__V1__SubmitContact *msg,
						const char *sid, const char *queue)
{
	struct contact_payload *p = xcalloc(1, sizeof *p);
	if (msg != NULL) {
		p->packed_len = switchboard__v1__submit_contact__get_packed_size(msg);
		p->packed = xmalloc(p->packed_len ? p->packed_len : 1);
		switchboard__v1__submit_contact__pack(msg, p->packed);
	}
	snprintf(p->sid, sizeof p->sid, "%s", sid ? sid : "");
	snprintf(p->queue, sizeof p->queue, "%s", queue ? queue : "");
	return p;
}

struct contact_payload *contactinfo_payload_copy(const struct contact_payload *p)
{
	struct contact_payload *q = xmalloc(sizeof *q);

	*q = *p;
	if (p->packed != NULL) {
		q->packed = xmalloc(p->packed_len ? p->packed_len : 1);
		memcpy(q->packed, p->packed, p->packed_len);
	}
	return q;
}

Switchboard__V1__SubmitContact *contactinfo_message(const struct contact_payload *p)
{
	if (p == NULL || p->packed == NULL)
		return NULL;
	return switchboard__v1__submit_contact__unpack(NULL, p->packed_len, p->packed);
}

void contactinfo_free(void *ctx, void *payload)
{
	struct contact_payload *p = payload;
	if (p == NULL)
		return;
	free(p->packed);
	free(p);
}

Switchboard__V1__SubmitContact *contactinfo_fill(Switchboard__V1__ContactInfo *ci,
						 Switchboard__V1__Customer *cust,
						 const struct engine_contact_view *c)
{
	Switchboard__V1__SubmitContact *m = contactinfo_message(c->user);

	switchboard__v1__contact_info__init(ci);
	switchboard__v1__customer__init(cust);
	ci->contact_id = (char *)(uintptr_t)c->id;
	ci->channel = (Switchboard__V1__Channel)channel_to_wire(c->channel);
	ci->queue = (char *)(uintptr_t)c->queue;
	ci->arrived_ms = (uint64_t)c->arrived_ms;
	ci->deadline_ms = (uint64_t)c->deadline_ms;
	ci->gateway_id = (char *)(uintptr_t)c->gateway_id;
	ci->external_id = (char *)(uintptr_t)c->external_id;
	if (m == NULL)
		return NULL;
	if (m->customer != NULL) {
		cust->id = m->customer->id;
		cust->tier = m->customer->tier;
		ci->customer = cust;
	}
	ci->language = m->language;
	/* Submit and ContactInfo attribute entries have the same layout: both
	 * are generated map entries of string -> string. */
	ci->n_attributes = m->n_attributes;
	ci->attributes = (Switchboard__V1__ContactInfo__AttributesEntry **)m->attributes;
	return m;
}

void contactinfo_event_id(const struct engine_contact_view *c, char *out, size_t len)
{
	const struct contact_payload *p = c->user;
	snprintf(out, len, "%s/%u", c->id, p ? p->event_seq : 0);
}

void contactinfo_engine_in(const Switchboard__V1__SubmitContact *m, const char *queue,
			   enum sb_channel ch, struct engine_skill_req *buf,
			   struct engine_submit *in)
{
	size_t n = m->n_required_skills < CONTACTINFO_MAX_SKILLS ? m->n_required_skills
								 : CONTACTINFO_MAX_SKILLS;
	for (size_t i = 0; i < n; i++)
		buf[i] = (struct engine_skill_req){ m->required_skills[i]->name,
						    (int)m->required_skills[i]->min_level };
	*in = (struct engine_submit){
		.external_id = m->external_id,
		.queue = queue,
		.channel = ch,
		.customer_tier = m->customer ? m->customer->tier : NULL,
		.skills = buf,
		.n_skills = n,
		.priority_s = m->priority,
		.preferred_agent = m->preferred_agent_id[0] ? m->preferred_agent_id : NULL,
		.preferred_wait_ms = m->preferred_wait_ms,
	};
}
