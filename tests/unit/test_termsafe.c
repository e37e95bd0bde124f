/* test_termsafe.c: the byte-level terminal hygiene of core/termsafe.h: escape sequences (CSI,
 * OSC 52, title changes, DCS, 8-bit C1 both as U+009B and as a raw byte) removed, controls and
 * bidi overrides dropped, newlines and tabs as asked, invalid UTF-8 as U+FFFD, secrets redacted,
 * sequences split across scanner calls, and JSON escaped losslessly (cJSON reads back the same
 * strings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/redact.h"
#include "core/termsafe.h"

static char *san(const char *s, size_t n, unsigned flags)
{
	struct sbuf b = {0};
	term_sanitize(&b, s, n, flags);
	return sbuf_take(&b);
}

static void expect(const char *in, unsigned flags, const char *want)
{
	char *got = san(in, strlen(in), flags);
	assert_string_equal(got, want);
	free(got);
}

static void test_sequences(void **state)
{
	(void)state;
	expect("a\033[2Jb", 0, "ab");                /* CSI 2J */
	expect("a\033]52;c;cHduZWQ=\007b", 0, "ab"); /* OSC 52, BEL-terminated */
	expect("a\033]0;title\033\\b", 0, "ab");     /* title, ST-terminated */
	expect("a\033P1$r\033\\b", 0, "ab");         /* DCS */
	expect("a\302\23331mb", 0, "ab");            /* U+009B CSI */
	expect("a\23331mb", 0, "ab");                /* raw 0x9b CSI */
	expect("a\033(Bb", 0, "ab");                 /* charset designation */
	expect("a\033[1;\n31mb", 0, "ab");           /* a control inside CSI */
	expect("a\033]0;never ends", 0, "a");        /* an unterminated string */
}

static void test_controls(void **state)
{
	(void)state;
	expect("a\007b\177c\rd\010e", 0, "abcde");
	expect("a\342\200\256b\342\201\246c", 0, "abc"); /* U+202E, U+2066 */
	expect("a\302\205b", 0, "ab");                   /* U+0085 NEL */
	expect("l1\nl2\tx", 0, "l1 l2 x");
	expect("l1\nl2\tx", TERM_KEEP_NEWLINES, "l1\nl2 x");
	expect("l1\nl2\tx", TERM_KEEP_NEWLINES | TERM_KEEP_TABS, "l1\nl2\tx");
	expect("caf\303\251 \xe2\x9c\x93", 0, "caf\303\251 \xe2\x9c\x93");       /* UTF-8 kept */
	expect("a\377b\300\257c", 0, "a\357\277\275b\357\277\275\357\277\275c"); /* invalid */
	char *got = san("a\0b", 3, 0); /* a NUL is a control too */
	assert_string_equal(got, "ab");
	free(got);
}

struct collect {
	struct sbuf b;
};

static void emit(void *arg, long c)
{
	struct collect *k = arg;
	if (c >= 0x20 && c < 0x7f)
		sbuf_addc(&k->b, (char)c);
	else
		sbuf_addf(&k->b, "<%lx>", c);
}

static void test_split_feed(void **state)
{
	(void)state;
	const char *in = "ab\033]52;c;xx\007cd\033[31mef\302\233 1mgh";
	for (size_t cut = 0; cut <= strlen(in); cut++) {
		struct collect k = {{0}};
		struct term_scan sc = {0, emit, &k};
		term_scan(&sc, in, cut);
		term_scan(&sc, in + cut, strlen(in) - cut);
		/* a cut inside a UTF-8 character gives two invalid bytes; elsewhere the same text
		 */
		if (cut != strlen("ab\033]52;c;xx\007cd\033[31mef") + 1)
			assert_string_equal(sbuf_str(&k.b), "abcdefgh");
		sbuf_free(&k.b);
	}
}

static void test_redacted(void **state)
{
	(void)state;
	redact_add("sk-term-secret-42");
	expect("key sk-term-secret-42!", 0, "key " REDACTED "!");
	/* a key split by an escape sequence is not a key on screen either */
	expect("key sk-term-\033[0msecret-42", 0, "key " REDACTED);
	char *l = term_line("a\nsk-term-secret-42\tb");
	assert_string_equal(l, "a " REDACTED " b");
	free(l);
	redact_clear();
}

static void test_json(void **state)
{
	(void)state;
	const char *evil = "x\033]0;t\007\302\233\177\342\200\256y\nz";
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "s", evil);
	char *text = cJSON_Print(o);
	FILE *f = tmpfile();
	assert_non_null(f);
	term_json(f, text);
	rewind(f);
	char buf[512] = "";
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		assert_true(c >= 0x20 || c == '\n' || c == '\t');
		assert_true(c != 0x7f);
	}
	assert_null(strstr(buf, "\302\233"));
	assert_null(strstr(buf, "\342\200\256"));
	cJSON *back = cJSON_Parse(buf);
	assert_non_null(back);
	assert_string_equal(cJSON_GetObjectItem(back, "s")->valuestring, evil);
	cJSON_Delete(back);
	cJSON_Delete(o);
	free(text);
}

static void test_utf8(void **state)
{
	(void)state;
	struct sbuf b = {0};
	utf8_encode(&b, 0x41);
	utf8_encode(&b, 0xe9);
	utf8_encode(&b, 0x20ac);
	utf8_encode(&b, 0x1f600);
	utf8_encode(&b, 0xd800);
	utf8_encode(&b, 0x110000);
	assert_string_equal(sbuf_str(&b), "A\303\251\342\202\254\360\237\230\200\357\277\275"
	                                  "\357\277\275");
	long cp;
	assert_int_equal(utf8_decode("\360\237\230\200", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
	assert_int_equal(utf8_decode("\340\200\200", 3, &cp), 1); /* overlong */
	assert_int_equal(cp, -1);
	assert_int_equal(utf8_decode("\355\240\200", 3, &cp), 1); /* surrogate */
	assert_int_equal(cp, -1);
	sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sequences),  cmocka_unit_test(test_controls),
	    cmocka_unit_test(test_split_feed), cmocka_unit_test(test_redacted),
	    cmocka_unit_test(test_json),       cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
