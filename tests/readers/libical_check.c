/* Read calendar objects with libical (GNOME Calendar, Evolution) and say what it made of them.
 *
 * Usage: libical_check FILE...   Each FILE holds one calendar object as a server serves it.
 * For each file, one line per finding, tab-separated:
 *   error  FILE  TEXT              libical could not read something (an X-LIC-ERROR it added,
 *                                  or no component at all)
 *   alarm  FILE  UID  WHEN         a VALARM with a relative trigger: when it fires, as local
 *                                  wall-clock time YYYYMMDDTHHMMSS (a date start counts from
 *                                  its midnight; floating and date values are local anyway)
 *   start  FILE  UID  WHEN         the start of each VEVENT/VTODO, the same way
 * Exit status 0 when it ran (findings or not), 2 on a usage or I/O problem. */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len <= 1) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    return buf;
}

static const char *wall(struct icaltimetype t) {
    static char out[32];
    t.is_date = 0; /* a date starts at its midnight */
    snprintf(out, sizeof out, "%04d%02d%02dT%02d%02d%02d", t.year, t.month, t.day, t.hour,
             t.minute, t.second);
    return out;
}

static void errors(const char *path, icalcomponent *comp) {
    for (icalproperty *p = icalcomponent_get_first_property(comp, ICAL_XLICERROR_PROPERTY); p;
         p = icalcomponent_get_next_property(comp, ICAL_XLICERROR_PROPERTY))
        printf("error\t%s\t%s\n", path, icalproperty_get_xlicerror(p));
    for (icalcomponent *c = icalcomponent_get_first_component(comp, ICAL_ANY_COMPONENT); c;
         c = icalcomponent_get_next_component(comp, ICAL_ANY_COMPONENT))
        errors(path, c);
}

static void alarms(const char *path, icalcomponent *item) {
    const char *uid = icalcomponent_get_uid(item);
    struct icaltimetype start = icalcomponent_get_dtstart(item);
    struct icaltimetype end = icalcomponent_isa(item) == ICAL_VTODO_COMPONENT
                                  ? icalcomponent_get_due(item)
                                  : icalcomponent_get_dtend(item);
    printf("start\t%s\t%s\t%s\n", path, uid ? uid : "", wall(start));
    for (icalcomponent *a = icalcomponent_get_first_component(item, ICAL_VALARM_COMPONENT); a;
         a = icalcomponent_get_next_component(item, ICAL_VALARM_COMPONENT)) {
        icalproperty *p = icalcomponent_get_first_property(a, ICAL_TRIGGER_PROPERTY);
        if (!p) {
            printf("error\t%s\tVALARM without TRIGGER\n", path);
            continue;
        }
        struct icaltriggertype trigger = icalproperty_get_trigger(p);
        if (!icaltime_is_null_time(trigger.time)) {
            printf("alarm\t%s\t%s\t%sZ\n", path, uid ? uid : "", wall(trigger.time));
            continue;
        }
        icalparameter *related = icalproperty_get_first_parameter(p, ICAL_RELATED_PARAMETER);
        int to_end = related && icalparameter_get_related(related) == ICAL_RELATED_END;
        struct icaltimetype base = to_end ? end : start;
        base.is_date = 0;
        printf("alarm\t%s\t%s\t%s\n", path, uid ? uid : "",
               wall(icaltime_add(base, trigger.duration)));
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        char *text = slurp(argv[i]);
        if (!text) {
            perror(argv[i]);
            return 2;
        }
        icalcomponent *cal = icalparser_parse_string(text);
        free(text);
        if (!cal) {
            printf("error\t%s\tno calendar object\n", argv[i]);
            continue;
        }
        errors(argv[i], cal);
        for (icalcomponent *c = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT); c;
             c = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT)) {
            icalcomponent_kind kind = icalcomponent_isa(c);
            if (kind == ICAL_VEVENT_COMPONENT || kind == ICAL_VTODO_COMPONENT) alarms(argv[i], c);
        }
        icalcomponent_free(cal);
    }
    return 0;
}
