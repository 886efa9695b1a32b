// Read calendar objects with ical.js (Thunderbird's parser) and say what it made of them.
//
// Usage: node icaljs_check.mjs FILE...   Each FILE holds one calendar object as a server serves
// it. Prints one JSON object per line:
//   {"error": FILE, "text": ...}                      ical.js could not read the object
//   {"file": FILE, "uid": ..., "start": ..., "alarms": [{"when": ..., "epoch": ...}]}
// "when" is the alarm's wall-clock time, "epoch" its instant in seconds. Like Thunderbird's
// calculateAlarmDate, a date or floating start is taken in the local zone (the TZ variable).
import fs from "node:fs";
import ICAL from "ical.js";

function localized(time) {
  const out = time.clone();
  if (out.isDate) {
    out.isDate = false; // an all-day item's alarms count from its local midnight
  }
  return out;
}

function epoch(time) {
  if (time.zone === ICAL.Timezone.utcTimezone) {
    return time.toUnixTime();
  }
  // Floating (and date) values are local time: what the process's zone says.
  return Math.floor(time.toJSDate().getTime() / 1000);
}

for (const file of process.argv.slice(2)) {
  let root;
  try {
    root = new ICAL.Component(ICAL.parse(fs.readFileSync(file, "utf8")));
  } catch (err) {
    console.log(JSON.stringify({ error: file, text: String(err) }));
    continue;
  }
  for (const item of [...root.getAllSubcomponents("vevent"), ...root.getAllSubcomponents("vtodo")]) {
    const start = item.getFirstPropertyValue("dtstart");
    const endName = item.name === "vtodo" ? "due" : "dtend";
    const end = item.getFirstPropertyValue(endName);
    const alarms = [];
    for (const alarm of item.getAllSubcomponents("valarm")) {
      const trigger = alarm.getFirstProperty("trigger");
      if (!trigger) {
        console.log(JSON.stringify({ error: file, text: "VALARM without TRIGGER" }));
        continue;
      }
      const value = trigger.getFirstValue();
      let when;
      if (value instanceof ICAL.Duration) {
        const related = (trigger.getParameter("related") || "START").toUpperCase();
        const base = related === "END" ? end : start;
        if (!base) {
          console.log(JSON.stringify({ error: file, text: `no ${related} for a relative alarm` }));
          continue;
        }
        when = localized(base);
        when.addDuration(value);
      } else {
        when = value;
      }
      alarms.push({ when: when.toString(), epoch: epoch(when), action: alarm.getFirstPropertyValue("action") });
    }
    console.log(JSON.stringify({
      file,
      uid: item.getFirstPropertyValue("uid"),
      start: start ? start.toString() : null,
      allday: start ? start.isDate : null,
      alarms,
    }));
  }
}
