-- hasdata-ledger, version 3: base URLs without trailing `/`s. The ledger scopes its rows by
-- the base URL's text, and the CLI recorded `--base-url http://host/` as written until it
-- dropped trailing `/`s as the library's client does; those rows could no longer be selected
-- (their base URL is never asked for again). A row moves only where that leaves no two rows
-- with one key: one whose job (or intent) is already there under the trimmed URL stays where
-- it is (listed as another base URL's, never lost), and of several forms of one URL
-- (`host/`, `host//`) the first in byte order moves.
UPDATE ledger_jobs AS j SET base_url = rtrim(j.base_url, '/')
WHERE j.base_url LIKE '%/' AND rtrim(j.base_url, '/') <> ''
  AND NOT EXISTS (
    SELECT 1 FROM ledger_jobs AS o
    WHERE o.id = j.id AND o.base_url <> j.base_url
      AND rtrim(o.base_url, '/') = rtrim(j.base_url, '/')
      AND (o.base_url NOT LIKE '%/' OR o.base_url COLLATE "C" < j.base_url COLLATE "C"));
UPDATE ledger_intents AS i SET base_url = rtrim(i.base_url, '/')
WHERE i.base_url LIKE '%/' AND rtrim(i.base_url, '/') <> ''
  AND NOT EXISTS (
    SELECT 1 FROM ledger_intents AS o
    WHERE o.key = i.key AND o.base_url <> i.base_url
      AND rtrim(o.base_url, '/') = rtrim(i.base_url, '/')
      AND (o.base_url NOT LIKE '%/' OR o.base_url COLLATE "C" < i.base_url COLLATE "C"));
