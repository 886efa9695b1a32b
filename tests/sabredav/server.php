<?php
/*
 * sabre/dav 1.8 from Debian's php-sabre-dav, served by `php -S` for the tests (tests/servers.py).
 *
 * CardDAV and CalDAV on SQLite, laid out as the package's groupware example and as Baikal 0.2
 * served them: /principals/USER/, /addressbooks/USER/contacts/, /calendars/USER/. Unlike the
 * example, logins are checked with Basic auth (netsync sends Basic; the example's Digest is
 * the one thing changed). sabre/dav 1.8 has no sync-collection (RFC 6578): a client lists the
 * collection with PROPFIND and compares ETags.
 *
 * Environment: SABRE_DB (the SQLite file), SABRE_USER and SABRE_PASSWORD (the one login).
 */

date_default_timezone_set('UTC');

// sabre/dav 1.8 predates PHP 8: its deprecation notices are not errors of the request.
error_reporting(E_ALL & ~E_DEPRECATED);
set_error_handler(function ($errno, $errstr, $errfile, $errline) {
    if (!(error_reporting() & $errno)) {
        return false;
    }
    throw new ErrorException($errstr, 0, $errno, $errfile, $errline);
});

require_once 'Sabre/autoload.php';

class TestBasicAuth extends \Sabre\DAV\Auth\Backend\AbstractBasic {
    protected function validateUserPass($username, $password) {
        return $username === getenv('SABRE_USER') && $password === getenv('SABRE_PASSWORD');
    }
}

$pdo = new \PDO('sqlite:' . getenv('SABRE_DB'));
$pdo->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
$pdo->setAttribute(PDO::ATTR_TIMEOUT, 30);  // SQLite waits for a concurrent writer's lock

$principals = new \Sabre\DAVACL\PrincipalBackend\PDO($pdo);
$server = new \Sabre\DAV\Server(array(
    new \Sabre\CalDAV\Principal\Collection($principals),
    new \Sabre\CalDAV\CalendarRootNode($principals, new \Sabre\CalDAV\Backend\PDO($pdo)),
    new \Sabre\CardDAV\AddressBookRoot($principals, new \Sabre\CardDAV\Backend\PDO($pdo)),
));
$server->setBaseUri('/');
$server->addPlugin(new \Sabre\DAV\Auth\Plugin(new TestBasicAuth(), 'SabreDAV'));
$server->addPlugin(new \Sabre\CalDAV\Plugin());
$server->addPlugin(new \Sabre\CardDAV\Plugin());
$server->addPlugin(new \Sabre\DAVACL\Plugin());
$server->exec();
