/* Pasting the runtime kernels a model calls into its model.c. */
#include "runtime.h"
#include "runtime_units.h"
#include "../../ir/ir.h"

#include <ctype.h>
#include <string.h>

static int unit_index(const char *name)
{
    if (cg_runtime_unit_count > CG_MAX_UNITS)
        DLC_BUG("%d runtime units, room for %d", cg_runtime_unit_count, CG_MAX_UNITS);
    for (int i = 0; i < cg_runtime_unit_count; i++)
        if (strcmp(cg_runtime_units[i].name, name) == 0)
            return i;
    DLC_BUG("no runtime unit '%s'", name);
}

void cg_units_use(CgUnits *u, const char *name)
{
    int i = unit_index(name);
    if (u->used[i])
        return;
    u->used[i] = true;
    const char *t = cg_runtime_units[i].text;
    const char *deps = strstr(t, "rt-deps:");
    const char *eol = strchr(t, '\n');
    if (!deps || (eol && deps > eol)) {
        u->order[u->n++] = i;
        return;
    }
    deps += strlen("rt-deps:");
    char word[64];
    while (deps < eol) {
        while (deps < eol && !isalnum((unsigned char)*deps) && *deps != '_')
            deps++;
        int n = 0;
        while (deps < eol && (isalnum((unsigned char)*deps) || *deps == '_') && n < 63)
            word[n++] = *deps++;
        word[n] = 0;
        if (n)
            cg_units_use(u, word);
    }
    u->order[u->n++] = i;   /* after its dependencies */
}

/* Unit text without its local #include lines (all of it lands in one file). */
static void paste_unit(Printer *p, int i)
{
    const char *t = cg_runtime_units[i].text;
    pr(p, "\n/* ---- runtime: %s ---- */\n", cg_runtime_units[i].name);
    while (*t) {
        const char *eol = strchr(t, '\n');
        size_t n = eol ? (size_t)(eol - t + 1) : strlen(t);
        if (!(strncmp(t, "#include \"", 10) == 0))
            pr_raw(p, t, n);
        t += n;
    }
}

void cg_units_paste(const CgUnits *u, Printer *p)
{
    int common = unit_index("rt_common");
    bool any_unit = false;
    for (int i = 0; i < cg_runtime_unit_count; i++)
        any_unit |= u->used[i];
    if (!any_unit)
        return;
    pr(p, "\n#define RT_EMBED 1\n");
    paste_unit(p, common);
    for (int i = 0; i < u->n; i++)     /* dependencies first */
        if (u->order[i] != common)
            paste_unit(p, u->order[i]);
}
