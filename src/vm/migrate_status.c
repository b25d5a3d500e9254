/* Live migration status as names and JSON (vm/migrate.h). */
#include <inttypes.h>
#include <stdio.h>

#include "vm/migrate.h"

const char *migrate_state_name(enum migrate_state s)
{
    static const char *const names[] = {"none",      "connecting", "precopy",   "stopcopy",
                                        "completed", "failed",     "cancelled", "unconfirmed"};

    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

/* s as the inside of a JSON string (quotes and backslashes escaped, controls as '?'). */
static void json_escape(const char *s, char *out, size_t cap)
{
    size_t j = 0;

    for (size_t i = 0; s[i] && j + 2 < cap; i++) {
        if (s[i] == '"' || s[i] == '\\')
            out[j++] = '\\';
        out[j++] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
    }
    out[j] = '\0';
}

void migrate_status_json(const struct migrate_status *st, char *out, size_t cap)
{
    char err[2 * sizeof(st->error)], to[2 * sizeof(st->to)];

    json_escape(st->error, err, sizeof(err));
    json_escape(st->to, to, sizeof(to));
    snprintf(out, cap,
             "{\"state\":\"%s\",\"to\":\"%s\",\"passes\":%u,\"ram_pages\":%" PRIu64
             ",\"sent_pages\":%" PRIu64 ",\"sent_bytes\":%" PRIu64 ",\"remaining_pages\":%" PRIu64
             ",\"dirty_rate_pps\":%.0f,\"bandwidth_bps\":%.0f,\"eta_ms\":%.1f,\"elapsed_ms\":%.1f,"
             "\"downtime_ms\":%.2f,\"downtime_target_ms\":%.0f,\"pause_ms\":%.2f,"
             "\"final_pages\":%" PRIu64 ",\"final_pages_ms\":%.2f,\"load_ms\":%.2f,"
             "\"handover_ms\":%.2f,\"error\":%s%s%s}",
             migrate_state_name(st->state), to, st->passes, st->ram_pages, st->sent_pages,
             st->sent_bytes, st->remaining_pages, st->dirty_rate_pps, st->bandwidth_bps, st->eta_ms,
             st->elapsed_ms, st->downtime_ms, st->downtime_target_ms, st->pause_ms, st->final_pages,
             st->final_pages_ms, st->load_ms, st->handover_ms, err[0] ? "\"" : "",
             err[0] ? err : "null", err[0] ? "\"" : "");
}
