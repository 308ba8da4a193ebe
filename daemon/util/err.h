/* One error enum for the whole daemon: functions return 0 or a negative
 * sb_err, with a human reason in an out-parameter where one helps.
 * The mapping to the wire's Error.code lives in err.c and nowhere else. */
#ifndef SB_ERR_H
#define SB_ERR_H

enum sb_err {
	SB_OK = 0,
	SB_ERR_BAD_FRAME = -1,         /* undecodable or out-of-bounds input */
	SB_ERR_UNAUTHENTICATED = -2,   /* no Hello yet, or credentials refused */
	SB_ERR_FORBIDDEN = -3,         /* not this role's or this client's to do */
	SB_ERR_NOT_FOUND = -4,         /* no such contact, offer or agent */
	SB_ERR_INVALID_ARGUMENT = -5,  /* a field is missing or out of range */
	SB_ERR_STORE_UNAVAILABLE = -6, /* Redis did not acknowledge */
	SB_ERR_NOT_LEADER = -7,        /* standby daemon */
	SB_ERR_OVERLOADED = -8,        /* a configured limit was reached */
	SB_ERR_CONFLICT = -9,          /* request no longer applies (offer expired...) */
	SB_ERR_INTERNAL = -10,         /* a bug */
	SB_ERR_NOMEM = -11,            /* allocation failed where we do not abort */
	SB_ERR_IO = -12,               /* file or socket error; see errno */
	SB_ERR_CONFIG = -13,           /* configuration refused */
};

/* Short stable name of an error ("NOT_FOUND"), for logs and tests. */
const char *sb_err_name(int err);

/* The wire protocol's ErrorCode number for err (switchboard.v1.ErrorCode). */
int sb_err_wire_code(int err);

#endif
