-- One action's commit in one round trip (issue 13): the lanes' locks, the subscription, its
-- installed items and the new requests, which get their numbers and SequenceNumbers here. The
-- caller's statement is the transaction: all of it or nothing.
-- Numbers and SequenceNumbers drawn together, under a lock held only while drawing, so that both
-- grow in the same order whichever transactions draw at once.
CREATE OR REPLACE FUNCTION conax_draw(count integer)
RETURNS TABLE (number bigint, sequence_number integer)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_lock(1668181603); -- 'conc'
  BEGIN
    RETURN QUERY SELECT nextval('request_number'), nextval('conax_sequence_number')::integer
      FROM generate_series(1, count);
  EXCEPTION WHEN OTHERS THEN
    PERFORM pg_advisory_unlock(1668181603);
    RAISE;
  END;
  PERFORM pg_advisory_unlock(1668181603);
END;
$$;

CREATE OR REPLACE FUNCTION conax_commit(lanes bigint[], subscription jsonb, item_ids text[], docs jsonb[])
RETURNS TABLE (number bigint, sequence_number integer)
LANGUAGE plpgsql AS $$
DECLARE
  doc jsonb;
  i integer;
  numbers bigint[];
  sequences integer[];
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
  SELECT array_agg(drawn.number ORDER BY drawn.number),
         array_agg(drawn.sequence_number ORDER BY drawn.sequence_number)
    INTO numbers, sequences
    FROM conax_draw(coalesce(cardinality(docs), 0)) AS drawn;
  FOR i IN 1 .. coalesce(cardinality(docs), 0) LOOP
    n := numbers[i];
    s := sequences[i];
    doc := docs[i] || jsonb_build_object('number', n::text, 'sequenceNumber', s, 'precedence', s);
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
