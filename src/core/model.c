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
	dst->replicas = NULL;
	if (src->n_replicas > 0) {
		dst->replicas = xcalloc((size_t)src->n_replicas, sizeof(*dst->replicas));
		for (int i = 0; i < src->n_replicas; i++)
			dst->replicas[i] = xstrdup(src->replicas[i]);
	}
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
	for (int i = 0; i < m->n_replicas; i++)
		free(m->replicas[i]);
	free(m->replicas);
	m->replicas = NULL;
	m->n_replicas = 0;
	free(m->model);
	free(m->api_key_env);
	free(m->rules);
	free(m->rules_ref);
}
