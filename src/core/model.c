/* model.c: copying and releasing a model configuration's strings. */
#include <stdlib.h>

#include "core/model.h"
#include "core/util.h"

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void model_config_copy(struct model_config *dst, const struct model_config *src)
{
	*dst = *src;
	dst->name = dup_or_null(src->name);
	dst->provider = dup_or_null(src->provider);
	dst->base_url = dup_or_null(src->base_url);
	dst->model = dup_or_null(src->model);
	dst->api_key_env = dup_or_null(src->api_key_env);
	dst->rules = dup_or_null(src->rules);
	dst->rules_ref = dup_or_null(src->rules_ref);
}

void model_config_free(struct model_config *m)
{
	free(m->name);
	free(m->provider);
	free(m->base_url);
	free(m->model);
	free(m->api_key_env);
	free(m->rules);
	free(m->rules_ref);
}
