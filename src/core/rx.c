/* rx.c: the PCRE2 wrapper: compile with JIT, match under limits, substitute. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rx.h"

struct rx {
	pcre2_code *code;
	char *pattern;
	bool jit;
};

static unsigned match_limit = 1000000, depth_limit = 10000;

void rx_set_limits(unsigned m, unsigned d)
{
	match_limit = m;
	depth_limit = d;
}

static pcre2_match_context *limits_context(void)
{
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	if (!mc)
		abort();
	pcre2_set_match_limit(mc, match_limit);
	pcre2_set_depth_limit(mc, depth_limit);
	return mc;
}

struct rx *rx_compile(const char *pattern, int flags, struct err *e)
{
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
	if (flags & RX_CASELESS)
		opts |= PCRE2_CASELESS;
	if (flags & RX_MULTILINE)
		opts |= PCRE2_MULTILINE;
	if (flags & RX_DOTALL)
		opts |= PCRE2_DOTALL;
	if (flags & RX_ANCHORED_FULL)
		opts |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
	int code;
	PCRE2_SIZE off;
	pcre2_code *re =
	    pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opts, &code, &off, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof msg);
		err_set(e, "invalid regex \"%.80s\": %s at offset %zu", pattern, (char *)msg,
		        (size_t)off);
		return NULL;
	}
	struct rx *rx = xcalloc(1, sizeof *rx);
	rx->code = re;
	rx->pattern = xstrdup(pattern);
	rx->jit = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
	return rx;
}

void rx_free(struct rx *rx)
{
	if (!rx)
		return;
	pcre2_code_free(rx->code);
	free(rx->pattern);
	free(rx);
}

const char *rx_pattern(const struct rx *rx)
{
	return rx->pattern;
}

int rx_capture_count(const struct rx *rx)
{
	uint32_t n = 0;
	pcre2_pattern_info(rx->code, PCRE2_INFO_CAPTURECOUNT, &n);
	return (int)n;
}

int rx_group_index(const struct rx *rx, const char *name)
{
	int n = pcre2_substring_number_from_name(rx->code, (PCRE2_SPTR)name);
	return n < 0 ? -1 : n;
}

static int match_error(int rc, struct err *e, const struct rx *rx)
{
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
		return err_set(
		    e,
		    "regex \"%.80s\" gave up: backtracking limit reached (the pattern is "
		    "too expensive for this input)",
		    rx->pattern);
	PCRE2_UCHAR msg[256];
	pcre2_get_error_message(rc, msg, sizeof msg);
	return err_set(e, "regex \"%.80s\": %s", rx->pattern, (char *)msg);
}

int rx_match(const struct rx *rx, const char *subject, size_t len, size_t offset,
             struct rx_match *m, struct err *e)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(rx->code, NULL);
	pcre2_match_context *mc = limits_context();
	if (!md)
		abort();
	int rc = pcre2_match(rx->code, (PCRE2_SPTR)subject, len, offset, 0, md, mc);
	int ret;
	if (rc == PCRE2_ERROR_NOMATCH || rc == PCRE2_ERROR_PARTIAL) {
		ret = 0;
	} else if (rc < 0) {
		ret = match_error(rc, e, rx);
	} else {
		ret = 1;
		if (m) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			uint32_t n = pcre2_get_ovector_count(md);
			if (n > RX_MAX_GROUPS)
				n = RX_MAX_GROUPS;
			m->ngroups = (int)n;
			for (uint32_t i = 0; i < n; i++) {
				bool unset = ov[2 * i] == PCRE2_UNSET || (int)i >= rc;
				m->start[i] = unset ? SIZE_MAX : ov[2 * i];
				m->end[i] = unset ? SIZE_MAX : ov[2 * i + 1];
			}
		}
	}
	pcre2_match_context_free(mc);
	pcre2_match_data_free(md);
	return ret;
}

char *rx_group_dup(const struct rx_match *m, const char *subject, int g)
{
	if (g < 0 || g >= m->ngroups || m->start[g] == SIZE_MAX)
		return NULL;
	return xstrndup(subject + m->start[g], m->end[g] - m->start[g]);
}

char *rx_substitute(const struct rx *rx, const char *subject, const char *replacement, bool global,
                    struct err *e)
{
	pcre2_match_context *mc = limits_context();
	uint32_t opts = PCRE2_SUBSTITUTE_OVERFLOW_LENGTH | PCRE2_SUBSTITUTE_EXTENDED;
	if (global)
		opts |= PCRE2_SUBSTITUTE_GLOBAL;
	PCRE2_SIZE cap = strlen(subject) * 2 + 64;
	char *out = NULL;
	for (int tries = 0; tries < 2; tries++) {
		out = xrealloc(out, cap);
		PCRE2_SIZE n = cap;
		int rc = pcre2_substitute(rx->code, (PCRE2_SPTR)subject, PCRE2_ZERO_TERMINATED, 0,
		                          opts, NULL, mc, (PCRE2_SPTR)replacement,
		                          PCRE2_ZERO_TERMINATED, (PCRE2_UCHAR *)out, &n);
		if (rc >= 0) {
			pcre2_match_context_free(mc);
			return out;
		}
		if (rc == PCRE2_ERROR_NOMEMORY && tries == 0) {
			cap = n + 1;
			continue;
		}
		match_error(rc, e, rx);
		break;
	}
	free(out);
	pcre2_match_context_free(mc);
	return NULL;
}

int rx_match_last(const struct rx *rx, const char *s, struct rx_match *last, struct err *e)
{
	size_t len = strlen(s), off = 0;
	int found = 0;
	struct rx_match mt;
	while (off <= len) {
		int rc = rx_match(rx, s, len, off, &mt, e);
		if (rc <= 0)
			return rc < 0 ? -1 : found;
		*last = mt;
		found = 1;
		off = mt.end[0] > mt.start[0] ? mt.end[0] : mt.start[0] + 1;
	}
	return found;
}
