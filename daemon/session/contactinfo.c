/* The ContactInfo an agent sees: see contactinfo.h. */
#include "session/contactinfo.h"

#include <stdint.h>

#include "record/record.h"

Switchboard__V1__SubmitContact *contactinfo_fill(Switchboard__V1__ContactInfo *ci,
						 Switchboard__V1__Customer *cust,
						 const struct engine_contact_view *c)
{
	Switchboard__V1__SubmitContact *m = record_data_message(c->user);

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
