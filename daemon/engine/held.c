/* What an agent holds: its offered and assigned contacts, a short list.
 * Accept, reject, complete and transfer find the offer or contact a request
 * names there first, before the engine-wide maps, and check it is the
 * agent's own. */
#include <string.h>

#include "engine/internal.h"
#include "util/err.h"

/* Checks that c, found by the caller (NULL: absent), belongs to a (NULL:
 * not in the roster); *why explains a refusal in the caller's words. */
static int held_owned(struct eagent *a, struct econtact *c, const char *missing,
		      const char *other, struct eagent **ap, struct econtact **cp, const char **why)
{
	*ap = a;
	*cp = c;
	if (a == NULL) {
		*why = "agent not in the roster";
		return SB_ERR_NOT_FOUND;
	}
	if (c == NULL) {
		*why = missing;
		return SB_ERR_NOT_FOUND;
	}
	if (c->agent != a) {
		*why = other;
		return SB_ERR_FORBIDDEN;
	}
	return 0;
}

/* The agent's own contacts are few and are what it acts on: looking there
 * first finds the contact without a probe of the (large) engine-wide map.
 * A contact a holds under this offer id is the one the offer table has:
 * held contacts' live or accepted offers stay in it until they finish. */
static struct econtact *held_find_offer(const struct eagent *a, const char *offer_id)
{
	for (struct econtact *c = a ? a->held : NULL; c != NULL; c = c->held_next)
		if (c->offer_id[0] != '\0' && strcmp(c->offer_id, offer_id) == 0)
			return c;
	return NULL;
}

/* The contact a holds under contact_id, or NULL. */
static struct econtact *held_find_contact(const struct eagent *a, const char *contact_id)
{
	for (struct econtact *c = a ? a->held : NULL; c != NULL; c = c->held_next)
		if (strcmp(c->v.id, contact_id) == 0)
			return c;
	return NULL;
}

/* Finds the offer an agent acts on. */
int held_offer(const struct engine *e, const char *agent_id, const char *offer_id,
	       struct eagent **ap, struct econtact **cp, const char **why)
{
	struct eagent *a = setup_find_agent(e, agent_id);
	struct econtact *c = held_find_offer(a, offer_id);

	if (c == NULL)
		c = offer_table_get(&e->offers, offer_table_key(e, offer_id), offer_id);
	return held_owned(a, c, "no such offer (expired, rescinded or never made)",
			  "offer was made to another agent", ap, cp, why);
}

/* Finds a contact an agent holds as an assignment. */
int held_assignment(const struct engine *e, const char *agent_id, const char *contact_id,
		    struct eagent **ap, struct econtact **cp, const char **why)
{
	struct eagent *a = setup_find_agent(e, agent_id);
	struct econtact *c = held_find_contact(a, contact_id);

	if (c == NULL)
		c = strmap_get(&e->contacts, contact_id);
	int rc = held_owned(a, c, "no such contact (finished, or never submitted)",
			    "contact is not held by this agent", ap, cp, why);
	if (rc == 0 && (*cp)->v.state != CONTACT_ASSIGNED) {
		*why = "contact is offered, not yet accepted";
		return SB_ERR_CONFLICT;
	}
	return rc;
}
