"""The pure core: no I/O, no clock. Model, vCard text and dates, the note block and its
patcher, the planner, the diff, iCalendar rendering and reading, texts, learning rules."""
