-- One action's commit, checked (issue 13, docs/decisions/0017). As conax_commit (0003), in one
-- round trip and one transaction, under the same lane locks, and before anything is written, a
-- planned commit (`check_based_on`) is refused with SQLSTATE CX001 when the stored subscription
-- is not `based_on`, the one the action was planned on (another adapter instance committed it in
-- between: the caller reads and plans again), and with CX002 when an installed item of the
-- subscription is held by another subscription. The requests are inserted in one statement.
-- conax_commit stays for instances of the earlier version still running during an upgrade.
CREATE OR REPLACE FUNCTION conax_commit_checked(lanes bigint[], subscription jsonb,
    check_based_on boolean, based_on jsonb, item_ids text[], docs jsonb[])
RETURNS TABLE (number bigint, sequence_number integer)
LANGUAGE plpgsql AS $$
DECLARE
  stored jsonb;
  held_ca_id text;
  held_by text;
  numbers bigint[];
  sequences integer[];
  wanted integer := coalesce(cardinality(docs), 0);
BEGIN
  PERFORM pg_advisory_xact_lock(lane) FROM (SELECT unnest(lanes) AS lane ORDER BY 1) AS ordered;
  IF subscription IS NOT NULL THEN
    IF check_based_on THEN
      SELECT s.doc INTO stored FROM subscriptions AS s WHERE s.id = subscription->>'id';
      IF stored IS DISTINCT FROM based_on THEN
        RAISE EXCEPTION 'subscription % changed after it was read', subscription->>'id'
          USING ERRCODE = 'CX001';
      END IF;
      SELECT i.ca_id, i.subscription_id INTO held_ca_id, held_by
        FROM installed_items AS i
        WHERE i.ca_id = ANY(item_ids) AND i.subscription_id <> subscription->>'id'
        ORDER BY array_position(item_ids, i.ca_id)
        LIMIT 1;
      IF held_ca_id IS NOT NULL THEN
        RAISE EXCEPTION 'installed item % is held by subscription %', held_ca_id, held_by
          USING ERRCODE = 'CX002',
            DETAIL = json_build_object('caId', held_ca_id, 'subscriptionId', held_by)::text;
      END IF;
    END IF;
    INSERT INTO subscriptions (id, type, created_at, doc)
      VALUES (subscription->>'id', subscription->>'type', (subscription->>'createdAt')::timestamptz, subscription)
      ON CONFLICT (id) DO UPDATE SET type = EXCLUDED.type, created_at = EXCLUDED.created_at, doc = EXCLUDED.doc;
    -- The items' index changes only when the items do (most actions change services or states).
    IF NOT check_based_on OR based_on IS NULL
        OR ARRAY(SELECT item->>'caId' FROM jsonb_array_elements(based_on->'installedItems') AS item)
          IS DISTINCT FROM item_ids THEN
      DELETE FROM installed_items AS i WHERE i.subscription_id = subscription->>'id';
      INSERT INTO installed_items (ca_id, subscription_id)
        SELECT unnest(item_ids), subscription->>'id'
        ON CONFLICT (ca_id) DO UPDATE SET subscription_id = EXCLUDED.subscription_id;
    END IF;
  END IF;
  IF wanted = 0 THEN
    RETURN;
  END IF;
  SELECT array_agg(drawn.number ORDER BY drawn.number),
         array_agg(drawn.sequence_number ORDER BY drawn.sequence_number)
    INTO numbers, sequences
    FROM conax_draw(wanted) AS drawn;
  RETURN QUERY
    WITH inserted AS (
      INSERT INTO requests (number, id, type, sequence_number, precedence, life_cycle_state,
          reference_number, subscription_id, process_name, process_id, doc)
        SELECT t.n, t.d->>'id', t.d->>'type', t.s, t.s, t.d->>'lifeCycleState',
            t.d->>'referenceNumber', t.d->>'subscriptionId', t.d->>'processName', t.d->>'processId', t.d
          FROM (SELECT u.n, u.s,
                  u.template || jsonb_build_object('number', u.n::text, 'sequenceNumber', u.s, 'precedence', u.s) AS d
                FROM unnest(numbers, sequences, docs) AS u(n, s, template)) AS t
        RETURNING requests.number AS n, requests.sequence_number AS s
    )
    SELECT inserted.n, inserted.s FROM inserted ORDER BY inserted.n;
END;
$$;

-- Less work per request version: requests_sequence (0002) repeats the index of the UNIQUE
-- constraint on sequence_number, and every new version of a row writes every index; room left in
-- each page lets a claim (claimed_by, claimed_until: no index) be a HOT update, which writes none.
DROP INDEX IF EXISTS requests_sequence;
ALTER TABLE requests SET (fillfactor = 80);
-- A commit replaces its subscription's rows of installed_items: without this index each one read
-- the whole table (measured: a quarter of a commit's time at 3,000 subscriptions, growing with them).
CREATE INDEX IF NOT EXISTS installed_items_subscription ON installed_items (subscription_id);
