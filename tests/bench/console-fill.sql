-- The database of console-pages.sh: run by the sqlite3 CLI in the folder
-- of the DER certificates 0.der .. (@nder - 1).der, with the parameters
-- @n (transactions), @now (unix seconds), @nch (challenges), @nusers
-- (NDES page users) and @nder. One transaction; what an earlier run put in
-- goes first (the console users made by `scepgw user add` stay).
--
-- Transactions: ids in time order, created evenly over the last 30 days
-- (so about 1/30 in the last 24 hours), each updated 2 to 60 s after its
-- creation; 1 in 1000 ORDERING (without a request: a starting serve takes
-- them over and leaves them for an operator, ordering nothing), 8 in 100
-- FAILED (a third of them refused by GlobalSign, with its code and
-- message), the others ISSUED with a certificate (the DER of i mod @nder
-- under a serial of its own, issued at the update, valid a year, 1 in 100
-- revoked). CN device-I, email
-- userJ@example.com with J = I mod 5000 (20 enrollments per address),
-- OU one of 10. Plus one probe enrollment, issued 15 days ago, CN
-- bench-probe: the row the detail pages and the searches look for.
--
-- Challenges: @nch, a quarter each unused (expiring in 7 days), used (by
-- one of the newest transactions), expired and revoked, created over the
-- last 30 days. Users: @nusers NDES page users with the scrypt fields of
-- bench-admin (they never log in here).
BEGIN;
DELETE FROM certificates;
DELETE FROM transactions;
DELETE FROM challenges;
DELETE FROM licence_counts;
DELETE FROM users WHERE name LIKE 'ndes-%';

-- A file that did not read is NULL: the CHECK stops the fill there.
CREATE TEMP TABLE der(k INTEGER PRIMARY KEY,
    der BLOB NOT NULL CHECK (length(der) > 100));
WITH RECURSIVE s(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM s
    WHERE k + 1 < @nder)
INSERT INTO der SELECT k, readfile(k || '.der') FROM s;

WITH RECURSIVE s(i) AS (SELECT 1 WHERE @n > 0 UNION ALL SELECT i + 1 FROM s
    WHERE i < @n),
r(i, created, state) AS (SELECT i, @now - 30 * 86400 + (i * 30 * 86400) / (@n + 1),
    CASE WHEN i % 1000 = 999 THEN 1 WHEN i % 100 < 8 THEN 3 ELSE 2 END FROM s)
INSERT INTO transactions(id, txid, csr_sha256, state, created, updated,
    cn, email, ou, order_id, cert_der, fail_info, fail_text, epki_code,
    epki_message, key_sha256, licence_pool)
SELECT i, lower(hex(randomblob(20))), randomblob(32), state, created,
    created + 2 + i % 59, 'device-' || i, 'user' || (i % 5000) ||
    '@example.com', 'OU' || (i % 10),
    CASE WHEN state = 2 OR (state = 3 AND i % 3 = 0)
        THEN 'CO' || printf('%012d', i) END,
    CASE WHEN state = 2 THEN (SELECT der FROM der WHERE k = i % @nder) END,
    CASE WHEN state = 3 THEN 2 ELSE 0 END,
    CASE WHEN state = 3 AND i % 3 = 0 THEN 'GlobalSign refused the order'
        WHEN state = 3 THEN 'challenge password unknown, used or expired'
    END,
    CASE WHEN state = 3 AND i % 3 = 0 THEN -6101 END,
    CASE WHEN state = 3 AND i % 3 = 0 THEN 'No licence available' END,
    randomblob(32), NULL
FROM r;

INSERT INTO transactions(txid, csr_sha256, state, created, updated, cn,
    email, ou, order_id, cert_der, key_sha256)
VALUES (lower(hex(randomblob(20))), randomblob(32), 2, @now - 15 * 86400,
    @now - 15 * 86400 + 5, 'bench-probe', 'bench-probe@example.com', 'OU1',
    'CO999999999999', (SELECT der FROM der WHERE k = 0), randomblob(32));

INSERT INTO certificates(serial_hex, order_id, txid, subject, cert_der,
    issued, not_after, revoked, revoke_reason)
SELECT upper(hex(randomblob(16))), order_id, txid,
    '/CN=' || cn || '/emailAddress=' || email, cert_der, updated,
    updated + 365 * 86400, CASE WHEN id % 100 = 50 THEN 1 ELSE 0 END,
    CASE WHEN id % 100 = 50 THEN 'keyCompromise' END
FROM transactions WHERE state = 2;

INSERT INTO licence_counts(pool, used)
SELECT 'epki', count(*) FROM transactions WHERE order_id IS NOT NULL
HAVING count(*) > 0;

WITH RECURSIVE s(i) AS (SELECT 1 WHERE @nch > 0 UNION ALL SELECT i + 1
    FROM s WHERE i < @nch),
r(i, created) AS (SELECT i, @now - 30 * 86400 + (i * 30 * 86400) / (@nch + 1)
    FROM s)
INSERT INTO challenges(id, hash, created, expires, used, revoked, cn,
    email, ou, txid)
SELECT i, randomblob(32), created,
    CASE WHEN i % 4 = 0 THEN @now + 7 * 86400 + i
        WHEN i % 4 = 2 THEN created + 3600 ELSE created + 7 * 86400 END,
    CASE WHEN i % 4 = 1 THEN created + 60 ELSE 0 END,
    CASE WHEN i % 4 = 3 THEN 1 ELSE 0 END,
    CASE WHEN i % 2 = 0 THEN 'ch-device-' || i END,
    CASE WHEN i % 2 = 0 THEN 'user' || (i % 5000) || '@example.com' END,
    NULL,
    CASE WHEN i % 4 = 1 THEN (SELECT txid FROM transactions t
        WHERE t.id = @n - i) END
FROM r;
UPDATE transactions SET challenge_id = @n - id
WHERE id >= @n - @nch AND id < @n AND (@n - id) % 4 = 1;

WITH RECURSIVE s(i) AS (SELECT 1 WHERE @nusers > 0 UNION ALL SELECT i + 1
    FROM s WHERE i < @nusers)
INSERT INTO users(name, kdf, kdf_n, kdf_r, kdf_p, salt, hash, can_issue,
    created, profiles, role)
SELECT 'ndes-' || i, kdf, kdf_n, kdf_r, kdf_p, randomblob(16),
    randomblob(32), 1, @now - i * 3600, 'default', 'ndes'
FROM s, (SELECT kdf, kdf_n, kdf_r, kdf_p FROM users
    WHERE name = 'bench-admin');
COMMIT;
