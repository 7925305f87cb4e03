-- One action's commit in one round trip (issue 13): the lanes' locks, the subscription, its
-- installed items and the new requests, which get their numbers and SequenceNumbers here. The
-- caller's statement is the transaction: all of it or nothing.
CREATE OR REPLACE FUNCTION conax_commit(lanes bigint[], subscription jsonb, item_ids text[], docs jsonb[])
RETURNS TABLE (number bigint, sequence_number integer)
LANGUAGE plpgsql AS $$
DECLARE
  doc jsonb;
  n bigint;
  s integer;
BEGIN
  PERFORM pg_advisory_xact_lock(lane) FROM (SELECT unnest(lanes) AS lane ORDER BY 1) AS ordered;
  IF subscription IS NOT NULL THEN
    INSERT INTO subscriptions (id, type, created_at, doc)
      VALUES (subscription->>'id', subscription->>'type', (subscription->>'createdAt')::timestamptz, subscription)
      ON CONFLICT (id) DO UPDATE SET type = EXCLUDED.type, created_at = EXCLUDED.created_at, doc = EXCLUDED.doc;
    DELETE FROM installed_items WHERE subscription_id = subscription->>'id';
    INSERT INTO installed_items (ca_id, subscription_id)
      SELECT unnest(item_ids), subscription->>'id'
      ON CONFLICT (ca_id) DO UPDATE SET subscription_id = EXCLUDED.subscription_id;
  END IF;
  FOREACH doc IN ARRAY coalesce(docs, '{}') LOOP
    n := nextval('request_number');
    s := nextval('conax_sequence_number');
    doc := doc || jsonb_build_object('number', n::text, 'sequenceNumber', s, 'precedence', s);
    INSERT INTO requests (number, id, type, sequence_number, precedence, life_cycle_state,
        reference_number, subscription_id, process_name, process_id, doc)
      VALUES (n, doc->>'id', doc->>'type', s, s, doc->>'lifeCycleState', doc->>'referenceNumber',
        doc->>'subscriptionId', doc->>'processName', doc->>'processId', doc);
    number := n;
    sequence_number := s;
    RETURN NEXT;
  END LOOP;
END;
$$;
