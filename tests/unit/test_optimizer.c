/* test_optimizer.c: the step optimizer table and the instruct and joint optimizers with fake
 * role answers: budgets, placeholder filtering (done in make(): candidates that lose or add a
 * placeholder never reach the engine), incumbent demos, deterministic distinct demo sets, and
 * representative ones: distinct failure kinds first, then varied inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "engine/optimizer.h"

#define PROMPT "Use the passages.\nPassages:\n{{passages}}\nQuestion: {{question}}\nAnswer:"

static const struct opt_case cases[] = {
    {"question: Q1\npassages: P1", "Berlin", NULL, NULL, true},
    {"question: Q2\npassages: P2", "I believe it is Rome, because...", "too verbose", "Rome",
     false},
    {"question: Q3\npassages: P3", "Oslo", NULL, NULL, true},
    {"question: Q4\npassages: P4", "unknown", "missed the entity", "Lima", false},
    {"question: Q5\npassages: P5", "It may be Kyiv", "hedges", "Kyiv", false},
    {"question: Q6\npassages: P6", "", "empty", NULL, false}, /* no pseudo-label: not a demo */
    {"question: Q7\npassages: P7", "Tokyo", "not at fault", " Tokyo\n", false}, /* unchanged */
};

static const struct demo incumbent_demos[] = {{"question: Q0\npassages: P0", "Paris"}};

static struct step step_answer = {.id = "answer"};

static struct opt_request request(int budget, int max_demos, unsigned long seed)
{
	return (struct opt_request){
	    .s = NULL,
	    .step = &step_answer,
	    .prompt = PROMPT,
	    .demos = incumbent_demos,
	    .n_demos = 1,
	    .structure = "E1 summary",
	    .dependency = "The answer step must output only the entity.",
	    .cases = cases,
	    .n_cases = ARRAY_SIZE(cases),
	    .budget = budget,
	    .max_demos = max_demos,
	    .seed = seed,
	};
}

/* A role reply with good and bad rewrites mixed. */
static const char reply[] =
    "Here are the versions.\n"
    "<prompt>Answer with only the entity.\n" PROMPT "</prompt>\n"
    "<prompt>Answer briefly. Question: {{question}}</prompt>\n"   /* loses passages */
    "<prompt>" PROMPT "\nAlso {{extra}}</prompt>\n"               /* adds a name */
    "<prompt>" PROMPT "</prompt>\n"                               /* the incumbent */
    "<prompt>Answer with only the entity.\n" PROMPT "</prompt>\n" /* a repeat */
    "<prompt>Broken {{question</prompt>\n"                        /* not a template */
    "<prompt>Question: {{question}}\nPassages: {{passages}}\nName only the entity.</prompt>\n"
    "<prompt>Third: {{question}} {{passages}}</prompt>\n";

static void test_table(void **state)
{
	(void)state;
	/* find, names and at all come from the one table in optimizer.c */
	assert_string_equal(optimizer_names(), "instruct, joint");
	size_t n = 0;
	for (const struct step_optimizer *o; (o = optimizer_at(n)) != NULL; n++) {
		assert_ptr_equal(optimizer_find(o->name), o);
		assert_non_null(strstr(optimizer_names(), o->name));
		assert_non_null(o->ask);
		assert_non_null(o->make);
		assert_true(o->help && *o->help);
	}
	assert_int_equal(n, 2);
	assert_null(optimizer_find("mipro"));
	assert_null(optimizer_find(NULL));
}

static void test_instruct_ask(void **state)
{
	(void)state;
	const struct step_optimizer *o = optimizer_find("instruct");
	struct opt_request req = request(3, 2, 1);
	char **p;
	size_t n = o->ask(&req, &p);
	assert_int_equal(n, 1);
	assert_non_null(strstr(p[0], "Write 3 improved versions"));
	assert_non_null(strstr(p[0], "one step, \"answer\""));
	assert_non_null(strstr(p[0], "<current_prompt>\n" PROMPT "\n</current_prompt>"));
	assert_non_null(strstr(p[0], "({{passages}}, {{question}})"));
	assert_non_null(strstr(p[0], "### Case 2 (went wrong)\nInput:\nquestion: Q2"));
	assert_non_null(strstr(p[0], "What was wrong:\ntoo verbose\nRevised output:\nRome"));
	assert_non_null(strstr(p[0], "### Case 1 (went well)"));
	assert_non_null(strstr(p[0], "The answer step must output only the entity."));
	free(p[0]);
	free(p);
	req.budget = 0;
	assert_int_equal(o->ask(&req, &p), 0);
}

static void test_instruct_make(void **state)
{
	(void)state;
	const struct step_optimizer *o = optimizer_find("instruct");
	struct opt_request req = request(5, 2, 1);
	const char *answers[] = {reply, NULL};
	struct candidate *c;
	size_t n = o->make(&req, answers, 2, &c);
	/* only the three rewrites that keep exactly {{question}} and {{passages}} */
	assert_int_equal(n, 3);
	assert_string_equal(c[0].prompt, "Answer with only the entity.\n" PROMPT);
	assert_non_null(strstr(c[1].prompt, "Name only the entity."));
	assert_string_equal(c[2].prompt, "Third: {{question}} {{passages}}");
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(c[i].optimizer, "instruct");
		assert_int_equal(c[i].n_demos, 1); /* the incumbent's demos, copied */
		assert_string_equal(c[i].demos[0].output, "Paris");
		assert_ptr_not_equal(c[i].demos[0].output, incumbent_demos[0].output);
		assert_non_null(c[i].note);
	}
	candidates_free(c, n);
	/* the budget caps the count */
	req.budget = 1;
	n = o->make(&req, answers, 2, &c);
	assert_int_equal(n, 1);
	candidates_free(c, n);
	/* a failed request gives nothing; an untagged reply counts as one prompt */
	req.budget = 3;
	const char *none[] = {NULL};
	assert_int_equal(o->make(&req, none, 1, &c), 0);
	assert_null(c);
	const char *untagged[] = {"Be brief. {{passages}} {{question}}"};
	n = o->make(&req, untagged, 1, &c);
	assert_int_equal(n, 1);
	assert_string_equal(c[0].prompt, "Be brief. {{passages}} {{question}}");
	candidates_free(c, n);
}

static bool same_demos(const struct candidate *a, const struct candidate *b)
{
	if (a->n_demos != b->n_demos)
		return false;
	for (size_t i = 0; i < a->n_demos; i++)
		if (strcmp(a->demos[i].input, b->demos[i].input) != 0 ||
		    strcmp(a->demos[i].output, b->demos[i].output) != 0)
			return false;
	return true;
}

/* Every demo is a good case's (input, output) or a bad case's (input, pseudo-label). */
static void check_demo_sources(const struct candidate *c)
{
	for (size_t d = 0; d < c->n_demos; d++) {
		bool found = false;
		for (size_t k = 0; k < ARRAY_SIZE(cases) && !found; k++) {
			const char *want = cases[k].good ? cases[k].output : cases[k].pseudo;
			found = want && k != 6 && strcmp(c->demos[d].input, cases[k].input) == 0 &&
			        strcmp(c->demos[d].output, want) == 0;
		}
		assert_true(found);
	}
}

static void test_joint(void **state)
{
	(void)state;
	const struct step_optimizer *o = optimizer_find("joint");
	struct opt_request req = request(4, 2, 42);
	char **p;
	assert_int_equal(o->ask(&req, &p), 1);
	assert_non_null(strstr(p[0], "Write 3 improved versions")); /* one slot for demos only */
	free(p[0]);
	free(p);
	const char *answers[] = {reply};
	struct candidate *c, *c2;
	size_t n = o->make(&req, answers, 1, &c);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(c[i].optimizer, "joint");
		assert_int_equal(c[i].n_demos, 2);
		check_demo_sources(&c[i]);
		for (size_t j = 0; j < i && i < n - 1; j++) /* the rewrites' sets differ */
			assert_false(same_demos(&c[i], &c[j]));
	}
	assert_true(same_demos(&c[n - 1], &c[0])); /* the demo-only slot: the first set */
	assert_string_equal(c[0].prompt, "Answer with only the entity.\n" PROMPT);
	assert_string_equal(c[3].prompt, PROMPT); /* the incumbent instruction, new demos */
	/* deterministic given the seed */
	size_t n2 = o->make(&req, answers, 1, &c2);
	assert_int_equal(n2, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(c[i].prompt, c2[i].prompt);
		assert_true(same_demos(&c[i], &c2[i]));
	}
	candidates_free(c2, n2);
	/* another seed draws other sets somewhere (5 demo sources: 10 possible pairs) */
	bool differs = false;
	for (unsigned long seed = 1; seed < 6 && !differs; seed++) {
		req.seed = seed;
		n2 = o->make(&req, answers, 1, &c2);
		for (size_t i = 0; i < n2 && i < n; i++)
			differs = differs || !same_demos(&c[i], &c2[i]);
		candidates_free(c2, n2);
	}
	assert_true(differs);
	candidates_free(c, n);
	/* the rewrites failed: the demo-only candidate remains */
	const char *none[] = {NULL};
	n = o->make(&req, none, 1, &c);
	assert_int_equal(n, 1);
	assert_string_equal(c[0].prompt, PROMPT);
	assert_int_equal(c[0].n_demos, 2);
	candidates_free(c, n);
	/* budget 1: one rewrite, with demos */
	req.budget = 1;
	n = o->make(&req, answers, 1, &c);
	assert_int_equal(n, 1);
	assert_int_equal(c[0].n_demos, 2);
	assert_string_not_equal(c[0].prompt, PROMPT);
	candidates_free(c, n);
}

/* Three failure kinds in the local gradients (the query drops the year: three cases; the answer
 * is verbose: two; the wrong entity: one) and good runs on two near-identical inputs and one of
 * its own. */
static const struct opt_case kinds[] = {
    {"question: When did the Berlin wall fall?", "Berlin wall", "The search query drops the year",
     "Berlin wall fall year 1989", false},
    {"question: Capital of Peru?", "Peru has a capital which is Lima, I believe", "Verbose answer",
     "Lima", false},
    {"question: Which year did Apollo 11 land?", "Apollo landing",
     "The query drops the year of the landing", "Apollo 11 landing year", false},
    {"question: Who wrote Hamlet?", "Marlowe", "Wrong entity named from the passage", "Shakespeare",
     false},
    {"question: When was the Eiffel tower built?", "Eiffel tower",
     "The query drops the year it was built", "Eiffel tower construction year", false},
    {"question: Largest ocean?", "It is the Pacific ocean, which is large",
     "Verbose answer: "
     "extra words around the entity",
     "Pacific", false},
    {"question: Tallest mountain on earth?", "Everest", NULL, NULL, true},
    {"question: Tallest mountain on the earth?", "Everest", NULL, NULL, true},
    {"question: Chemical symbol of gold?", "Au", NULL, NULL, true},
};
enum { KIND_YEAR, KIND_VERBOSE, KIND_ENTITY, KIND_GOOD };
static const int kind_of[] = {KIND_YEAR,    KIND_VERBOSE, KIND_YEAR, KIND_ENTITY, KIND_YEAR,
                              KIND_VERBOSE, KIND_GOOD,    KIND_GOOD, KIND_GOOD};

static int demo_case(const struct demo *d)
{
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++)
		if (strcmp(d->input, kinds[k].input) == 0)
			return (int)k;
	fail_msg("demonstration not from the cases: %s", d->input);
	return -1;
}

static void test_joint_representative(void **state)
{
	(void)state;
	const struct step_optimizer *o = optimizer_find("joint");
	const char *answers[] = {reply};
	for (unsigned long seed = 1; seed <= 8; seed++) {
		struct opt_request req = request(3, 3, seed);
		req.cases = kinds;
		req.n_cases = ARRAY_SIZE(kinds);
		struct candidate *c;
		size_t n = o->make(&req, answers, 1, &c);
		assert_int_equal(n, 3);
		for (size_t i = 0; i < n; i++) {
			/* three pseudo-labels, one of each failure kind */
			bool seen[KIND_GOOD + 1] = {false};
			assert_int_equal(c[i].n_demos, 3);
			for (size_t d = 0; d < 3; d++) {
				int k = demo_case(&c[i].demos[d]);
				assert_string_equal(c[i].demos[d].output, kinds[k].pseudo);
				assert_false(seen[kind_of[k]]);
				seen[kind_of[k]] = true;
			}
			assert_false(seen[KIND_GOOD]);
			assert_non_null(strstr(c[i].note, "3 pseudo-labels"));
		}
		/* the first set starts from the most common failure */
		assert_int_equal(kind_of[demo_case(&c[0].demos[0])], KIND_YEAR);
		candidates_free(c, n);
	}
	/* good runs fill the places left, the varied inputs first: one wrong case, two places */
	static const size_t pick[] = {3, 6, 7, 8};
	struct opt_case few[ARRAY_SIZE(pick)];
	for (size_t i = 0; i < ARRAY_SIZE(pick); i++)
		few[i] = kinds[pick[i]];
	for (unsigned long seed = 1; seed <= 8; seed++) {
		struct opt_request req = request(1, 3, seed);
		req.cases = few;
		req.n_cases = ARRAY_SIZE(few);
		struct candidate *c;
		size_t n = o->make(&req, answers, 1, &c);
		assert_int_equal(n, 1);
		assert_int_equal(c[0].n_demos, 3);
		bool gold = false, mountain = false;
		assert_int_equal(demo_case(&c[0].demos[0]), 3); /* the wrong case first */
		for (size_t d = 1; d < 3; d++) {
			int k = demo_case(&c[0].demos[d]);
			gold |= k == 8;
			mountain |= k == 6 || k == 7;
		}
		assert_true(gold && mountain); /* never both near-identical mountain questions */
		candidates_free(c, n);
	}
}

static void test_joint_without_demos(void **state)
{
	(void)state;
	const struct step_optimizer *o = optimizer_find("joint");
	/* max_demos 0: behaves as instruct and keeps the incumbent demos */
	struct opt_request req = request(2, 0, 1);
	char **p;
	assert_int_equal(o->ask(&req, &p), 1);
	assert_non_null(strstr(p[0], "Write 2 improved versions"));
	free(p[0]);
	free(p);
	const char *answers[] = {reply};
	struct candidate *c;
	size_t n = o->make(&req, answers, 1, &c);
	assert_int_equal(n, 2);
	assert_int_equal(c[0].n_demos, 1);
	assert_string_equal(c[0].demos[0].output, "Paris");
	candidates_free(c, n);
	/* more demos wanted than the pool holds: all of the pool, once */
	req = request(2, 50, 1);
	n = o->make(&req, answers, 1, &c);
	assert_int_equal(n, 2);
	assert_int_equal(c[0].n_demos, 5);
	check_demo_sources(&c[0]);
	candidates_free(c, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_instruct_ask),
	    cmocka_unit_test(test_instruct_make),
	    cmocka_unit_test(test_joint),
	    cmocka_unit_test(test_joint_representative),
	    cmocka_unit_test(test_joint_without_demos),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
