/* Static memory planning: every intermediate tensor gets an offset in one
 * arena. Tensors whose lifetimes do not overlap share bytes; views share
 * their source's bytes; elementwise kernels write in place over an input
 * that dies with them; the inputs of a Concat along its outermost
 * non-trivial axis are placed in their slices of its output, so their
 * producers write there and the Concat copies nothing (codegen skips it).
 * Offsets are 64-byte aligned, slices of a Concat excepted. */
#include "passes.h"
#include "../ops/ops.h"

#include <stdlib.h>

#define ALIGN 64

typedef struct {
    int64_t size;
    int first, last;        /* node positions: defined .. last read */
    int64_t offset;
} Storage;

typedef struct {
    Graph *g;
    Storage *st;
    int nst;
    int *of;                /* value id -> storage index, -1 none */
    int *last_read;         /* value id -> last node position reading it, -1 none */
    Node **slice_of;        /* value id -> the Concat it is a slice of, or NULL */
    int64_t *slice_off;     /* value id -> its byte offset in that Concat's output */
    int *concat_st;         /* value id of a Concat's output -> its storage, -1 */
    bool *overwritten;      /* value id -> a node (OPF_IN_PLACE) writes over it */
    int *seen;              /* value id -> the last Concat visit that met it */
    int visit;
} Plan;

static int64_t align_up(int64_t x)
{
    return (x + ALIGN - 1) / ALIGN * ALIGN;
}

static bool in_arena(const Value *v)
{
    return v && v->producer && !v->data && v->output_index < 0;
}

static int new_storage(Plan *p, int64_t size, int at)
{
    Storage *s = &p->st[p->nst];
    s->size = align_up(size ? size : 1);
    s->first = s->last = at;
    s->offset = -1;
    return p->nst++;
}

/* Elementwise kernels may write over an input read only at their own
 * index, when that input dies here and has the same size. */
static Value *inplace_candidate(Plan *p, Node *n, int pos)
{
    LKernel *k = n->kernel;
    if (!k || !k->elementwise)
        return NULL;
    for (int i = 0; i < n->nin; i++) {
        Value *v = n->in[i];
        if (!in_arena(v) || p->of[v->id] < 0)
            continue;
        Storage *s = &p->st[p->of[v->id]];
        if (s->last != pos || ir_value_bytes(v) != ir_value_bytes(k->out))
            continue;
        /* Every read of v in the kernel must be at the loop index. */
        bool ok = true;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] == v && j != i)
                ok = false;
        if (ok && ir_dtype_size(v->dtype) == ir_dtype_size(k->out->dtype)) {
            if (lk_loads_only_at(k->value, v, k->ivar))
                return v;
        }
    }
    return NULL;
}

/* Are the dims of v before n's attribute `axis` (default 0) all 1, so that
 * pieces cut along the axis are contiguous runs of v? */
static bool outer_dims_one(const Node *n, const Value *v)
{
    const Attr *a = ir_attr(n, "axis");
    int64_t axis = a && a->type == ATTR_INT ? a->i : 0;
    if (axis < 0)
        axis += v->shape.rank;
    if (axis < 0 || axis >= v->shape.rank)
        return false;
    for (int d = 0; d < axis; d++)
        if (v->shape.dim[d] != 1)
            return false;
    return true;
}

/* A Split (row flag OPF_OUTPUT_SLICES) whose outputs can be views of its
 * input at their offsets: the pieces are contiguous, the input is in the
 * arena, and no node overwrites an output or the input in place. */
static bool split_as_views(const Plan *p, const Node *n)
{
    if (!(n->op->flags & OPF_OUTPUT_SLICES) || n->nin < 1 || !in_arena(n->in[0]) ||
        !outer_dims_one(n, n->in[0]) || p->overwritten[n->in[0]->id])
        return false;
    size_t bytes = 0;
    for (int j = 0; j < n->nout; j++) {
        const Value *v = n->out[j];
        if (!in_arena(v) || v->dtype != n->in[0]->dtype || p->overwritten[v->id])
            return false;
        bytes += ir_value_bytes(v);
    }
    return bytes == ir_value_bytes(n->in[0]);
}

/* Can v become a slice of the Concat n: written by a kernel of its own (not
 * a view, not a graph input or weight), overwritten by no other node, not
 * already claimed by another Concat? Other readers read it in its slice. */
static bool slice_ok(const Plan *p, const Node *n, const Value *v)
{
    return in_arena(v) && v->dtype == n->out[0]->dtype && v->producer->kernel &&
           !(v->producer->op->flags & OPF_VIEW) && !p->slice_of[v->id] && !p->overwritten[v->id];
}

/* The Concat input at i when it is the first of a Split's outputs, all of
 * them in order from there, and the Split can be views: the Split's input,
 * which then takes their place (the producer writes it into the Concat's
 * output, the Split and the Concat copy nothing). NULL otherwise. */
static Value *split_run(const Plan *p, const Node *n, int i)
{
    const Node *s = n->in[i] ? n->in[i]->producer : NULL;
    if (!s || !(s->op->flags & OPF_OUTPUT_SLICES) || i + s->nout > n->nin)
        return NULL;
    for (int k = 0; k < s->nout; k++)   /* the first mismatch ends it: linear */
        if (n->in[i + k] != s->out[k])
            return NULL;
    return split_as_views(p, s) ? s->in[0] : NULL;
}

/* A Concat (row flag OPF_INPUT_SLICES) whose inputs can be its output's
 * slices: everything before the axis is 1 (each input is one contiguous run
 * of the output) and each input (or each run of a Split's outputs: the
 * Split's input) passes slice_ok. YOLOv8's C2f concatenates a Split's
 * outputs and bottleneck outputs that the next bottleneck reads too:
 * copied, with the Split, they took 4 % of the detector. */
static bool concat_in_place(Plan *p, const Node *n)
{
    const Value *y = n->out[0];
    if (!(n->op->flags & OPF_INPUT_SLICES) || n->nout != 1 || !in_arena(y) || !n->kernel ||
        !outer_dims_one(n, y))
        return false;
    p->visit++;
    for (int i = 0; i < n->nin; i++) {
        const Value *v = n->in[i], *x = split_run(p, n, i), *w = x ? x : v;
        if (!slice_ok(p, n, w) || p->seen[w->id] == p->visit)   /* twice: one slice */
            return false;
        p->seen[w->id] = p->visit;
        if (x)
            i += n->in[i]->producer->nout - 1;
    }
    return true;
}

static void find_concat_slices(Plan *p)
{
    for (int pos = 0; pos < p->g->nnodes; pos++) {
        Node *n = p->g->nodes[pos];
        if (!concat_in_place(p, n))
            continue;
        int64_t off = 0;
        for (int i = 0; i < n->nin; i++) {
            Value *x = split_run(p, n, i), *v = x ? x : n->in[i];
            p->slice_of[v->id] = n;
            p->slice_off[v->id] = off;
            off += (int64_t)ir_value_bytes(v);
            if (x)
                i += n->in[i]->producer->nout - 1;
        }
    }
}

static bool overlaps(const Storage *a, const Storage *b)
{
    return a->first <= b->last && b->first <= a->last;
}

static int by_size_desc(const void *x, const void *y)
{
    const Storage *a = *(Storage *const *)x, *b = *(Storage *const *)y;
    if (a->size != b->size)
        return a->size < b->size ? 1 : -1;
    return a->first - b->first;
}

/* Storages living longer than this many positions are "long": every
 * placement checks them; the others are found by where they start. */
#define SHORT_SPAN 64
/* Past this many long-lived storages (an unrolled Scan keeps every step's
 * output to the end), a storage goes on top of the arena without a search:
 * finding the lowest gap among them all, for each, was quadratic. */
#define MAX_SEARCHED_LONG 4096

static int by_offset(const void *x, const void *y)
{
    const Storage *a = *(Storage *const *)x, *b = *(Storage *const *)y;
    return a->offset < b->offset ? -1 : a->offset > b->offset;
}

static void *xmalloc(size_t n, size_t size)
{
    void *q = calloc(n ? n : 1, size);
    if (!q) {
        fprintf(stderr, "dlc: out of memory\n");
        exit(1);
    }
    return q;
}

/* Greedy placement, largest first, at the lowest offset that does not
 * collide with a placed storage whose lifetime overlaps. The placed ones
 * that overlap in time are gathered (short ones by their first position,
 * SHORT_SPAN back at most; long ones all), sorted by offset and swept once
 * for the first gap: the same offset as bumping past each collision until
 * none is left, without rescanning every placed storage per bump. Past
 * MAX_SEARCHED_LONG long-lived storages the rest are stacked on top. */
static int64_t place_all(Plan *p)
{
    int n = p->nst, npos = 1;
    for (int i = 0; i < n; i++)
        if (p->st[i].last + 1 > npos)
            npos = p->st[i].last + 1;
    Storage **order = xmalloc((size_t)n, sizeof *order);
    Storage **near = xmalloc((size_t)n, sizeof *near);     /* candidates of one placement */
    Storage **longs = xmalloc((size_t)n, sizeof *longs);
    int *head = xmalloc((size_t)npos, sizeof *head);       /* first position -> placed short */
    int *next = xmalloc((size_t)n, sizeof *next);          /* storages, a list by index */
    int nlong = 0;
    for (int t = 0; t < npos; t++)
        head[t] = -1;
    int64_t top = 0;
    for (int i = 0; i < n; i++)
        order[i] = &p->st[i];
    qsort(order, (size_t)n, sizeof *order, by_size_desc);
    for (int i = 0; i < n; i++) {
        Storage *s = order[i];
        if (nlong > MAX_SEARCHED_LONG) {
            s->offset = top;
            top += s->size;
            continue;
        }
        int k = 0;
        for (int t = s->first - SHORT_SPAN < 0 ? 0 : s->first - SHORT_SPAN; t <= s->last; t++)
            for (int j = head[t]; j >= 0; j = next[j])
                if (overlaps(s, &p->st[j]))
                    near[k++] = &p->st[j];
        qsort(near, (size_t)k, sizeof *near, by_offset);
        /* one sweep in offset order over the short candidates and the long
         * ones (kept sorted by offset), up to the first gap that fits */
        int64_t off = 0;
        for (int a = 0, b = 0;;) {
            while (b < nlong && !overlaps(s, longs[b]))
                b++;
            const Storage *c = a < k && (b == nlong || near[a]->offset <= longs[b]->offset)
                                   ? near[a++]
                                   : b < nlong ? longs[b++] : NULL;
            if (!c || c->offset >= off + s->size)
                break;
            if (c->offset + c->size > off)
                off = c->offset + c->size;
        }
        s->offset = off;
        if (off + s->size > top)
            top = off + s->size;
        if (s->last - s->first > SHORT_SPAN) {
            int at = nlong++;
            while (at > 0 && longs[at - 1]->offset > off) {
                longs[at] = longs[at - 1];
                at--;
            }
            longs[at] = s;
        } else {
            int idx = (int)(s - p->st);
            next[idx] = head[s->first];
            head[s->first] = idx;
        }
    }
    free(order);
    free(near);
    free(longs);
    free(head);
    free(next);
    return top;
}

bool pass_plan_memory(Graph *g, PlanStats *stats, Diag *d)
{
    (void)d;
    ir_recount_uses(g);
    Plan p = {.g = g};
    p.st = calloc((size_t)g->nvalues + (size_t)g->nnodes + 1, sizeof *p.st);
    p.of = malloc(((size_t)g->nvalues + 1) * sizeof *p.of);
    p.last_read = malloc(((size_t)g->nvalues + 1) * sizeof *p.last_read);
    p.slice_of = calloc((size_t)g->nvalues + 1, sizeof *p.slice_of);
    p.slice_off = calloc((size_t)g->nvalues + 1, sizeof *p.slice_off);
    p.concat_st = malloc(((size_t)g->nvalues + 1) * sizeof *p.concat_st);
    p.overwritten = calloc((size_t)g->nvalues + 1, sizeof *p.overwritten);
    p.seen = calloc((size_t)g->nvalues + 1, sizeof *p.seen);
    if (!p.st || !p.of || !p.last_read || !p.slice_of || !p.slice_off || !p.concat_st ||
        !p.overwritten || !p.seen) {
        fprintf(stderr, "dlc: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < g->nvalues; i++) {
        p.of[i] = -1;
        g->values[i]->offset = -1;
        g->values[i]->alias = NULL;
        p.last_read[i] = -1;
        p.concat_st[i] = -1;
    }
    for (int pos = 0; pos < g->nnodes; pos++) {
        const Node *n = g->nodes[pos];
        if ((n->op->flags & OPF_IN_PLACE) && n->nin > 0 && n->in[0])
            p.overwritten[n->in[0]->id] = true;
    }
    find_concat_slices(&p);
    /* A storage lives until the last read of any value in it, including
     * reads after the node being planned: in-place writes need to know. */
    for (int pos = 0; pos < g->nnodes; pos++) {
        for (int i = 0; i < g->nodes[pos]->nin; i++)
            if (g->nodes[pos]->in[i])
                p.last_read[g->nodes[pos]->in[i]->id] = pos;
        if (g->nodes[pos]->guard)   /* read before the kernel runs */
            p.last_read[g->nodes[pos]->guard->id] = pos;
    }
    for (int i = 0; i < g->nchecks; i++)  /* read when the run ends */
        p.last_read[g->checks[i]->id] = g->nnodes;
    int64_t naive = 0;
    int *scratch_of = calloc((size_t)g->nnodes + 1, sizeof *scratch_of);
    for (int pos = 0; pos < g->nnodes; pos++) {
        Node *n = g->nodes[pos];
        scratch_of[pos] = -1;
        if (n->kernel && n->kernel->scratch_bytes > 0) {
            scratch_of[pos] = new_storage(&p, n->kernel->scratch_bytes, pos);
            naive += align_up(n->kernel->scratch_bytes);
        }
        bool split_views = split_as_views(&p, n);
        int64_t piece_off = 0;
        for (int j = 0; j < n->nout; j++) {
            Value *v = n->out[j];
            int64_t at = piece_off;     /* v's offset in input 0, for split views */
            if (!in_arena(v))
                continue;
            piece_off += (int64_t)ir_value_bytes(v);
            naive += align_up((int64_t)ir_value_bytes(v));
            Value *src = NULL;
            Node *cat = p.slice_of[v->id];
            int cst = cat ? p.concat_st[cat->out[0]->id] : p.concat_st[v->id];
            if (cat && cst < 0) {   /* the first slice: the whole output's storage */
                cst = new_storage(&p, (int64_t)ir_value_bytes(cat->out[0]), pos);
                p.concat_st[cat->out[0]->id] = cst;
            }
            if (cst >= 0) {         /* a slice, or the Concat's output itself */
                p.of[v->id] = cst;
            } else if ((n->op->flags & (OPF_VIEW | OPF_IN_PLACE)) && j == 0 && in_arena(n->in[0]) &&
                       p.of[n->in[0]->id] >= 0) {
                src = n->in[0];
                p.slice_off[v->id] = p.slice_off[src->id];
            } else if (split_views && p.of[n->in[0]->id] >= 0) {   /* a piece of input 0 */
                src = n->in[0];
                p.slice_off[v->id] = p.slice_off[src->id] + at;
            }
            else if (j == 0)
                src = inplace_candidate(&p, n, pos);
            if (src) {
                p.of[v->id] = p.of[src->id];
                v->alias = src->alias ? src->alias : src;
            } else if (cst < 0) {
                p.of[v->id] = new_storage(&p, (int64_t)ir_value_bytes(v), pos);
            }
            Storage *s = &p.st[p.of[v->id]];
            if (p.last_read[v->id] > s->last)
                s->last = p.last_read[v->id];
        }
    }
    /* Values never read still need their bytes while their node runs. */
    int64_t top = place_all(&p);
    for (int i = 0; i < g->nvalues; i++)
        if (p.of[i] >= 0)
            g->values[i]->offset = p.st[p.of[i]].offset + p.slice_off[i];
    for (int pos = 0; pos < g->nnodes; pos++)
        if (scratch_of[pos] >= 0)
            g->nodes[pos]->kernel->scratch_offset = p.st[scratch_of[pos]].offset;
    stats->arena_bytes = top;
    stats->naive_bytes = naive;
    free(scratch_of);
    free(p.st);
    free(p.of);
    free(p.last_read);
    free(p.slice_of);
    free(p.slice_off);
    free(p.concat_st);
    free(p.overwritten);
    free(p.seen);
    return true;
}
