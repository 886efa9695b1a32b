-- The tables sabre/dav 1.8's PDO backends read and write (SQLite), with one user's principal,
-- address book and no calendar. USER is replaced by tests/servers.py.
CREATE TABLE principals (id INTEGER PRIMARY KEY ASC, uri TEXT, email TEXT, displayname TEXT,
    vcardurl TEXT, UNIQUE(uri));
CREATE TABLE groupmembers (id INTEGER PRIMARY KEY ASC, principal_id INTEGER, member_id INTEGER,
    UNIQUE(principal_id, member_id));
CREATE TABLE addressbooks (id INTEGER PRIMARY KEY ASC, principaluri TEXT, displayname TEXT,
    uri TEXT, description TEXT, ctag INTEGER);
CREATE TABLE cards (id INTEGER PRIMARY KEY ASC, addressbookid INTEGER, carddata BLOB, uri TEXT,
    lastmodified INTEGER);
CREATE TABLE calendars (id INTEGER PRIMARY KEY ASC, principaluri TEXT, displayname TEXT, uri TEXT,
    ctag INTEGER, description TEXT, calendarorder INTEGER, calendarcolor TEXT, timezone TEXT,
    components TEXT, transparent BOOL);
CREATE TABLE calendarobjects (id INTEGER PRIMARY KEY ASC, calendardata BLOB, uri TEXT,
    calendarid INTEGER, lastmodified INTEGER, etag TEXT, size INTEGER, componenttype TEXT,
    firstoccurence INTEGER, lastoccurence INTEGER);
INSERT INTO principals (uri, email, displayname) VALUES ('principals/USER', 'USER@example.org', 'USER');
INSERT INTO principals (uri) VALUES ('principals/USER/calendar-proxy-read');
INSERT INTO principals (uri) VALUES ('principals/USER/calendar-proxy-write');
INSERT INTO addressbooks (principaluri, displayname, uri, description, ctag)
    VALUES ('principals/USER', 'Contacts', 'contacts', '', 1);
