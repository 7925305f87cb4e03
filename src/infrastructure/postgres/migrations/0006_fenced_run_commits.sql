-- A run execution's batch commits its requests fenced with the execution's owner (issue 13,
-- docs/decisions/0017): conax_commit_group as in 0005, and an element with a `fence`
-- ({executionId, owner}) is refused with CX003, storing nothing, unless run_executions still gives
-- the execution to that owner. The row is read FOR SHARE: a takeover (takeExecution updates the
-- owner under FOR UPDATE) waits for the commit's transaction, or the commit waits for the
-- takeover and then sees the new owner. The lanes are still locked first; the run_executions row
-- after them, and a takeover takes no lane: no wait in a cycle.
CREATE OR REPLACE FUNCTION conax_commit_group(commits jsonb)
RETURNS TABLE (item integer, number bigint, sequence_number integer, refusal text, detail text)
LANGUAGE plpgsql AS $$
DECLARE
  c jsonb;
  i integer;
  r record;
  got boolean;
BEGIN
  PERFORM pg_advisory_xact_lock(ordered.lane) FROM (
    SELECT DISTINCT (jsonb_array_elements_text(e->'lanes'))::bigint AS lane
      FROM jsonb_array_elements(commits) AS e
      ORDER BY 1) AS ordered;
  FOR c, i IN SELECT t.e, t.o::integer FROM jsonb_array_elements(commits) WITH ORDINALITY AS t(e, o) LOOP
    BEGIN
      got := false;
      IF jsonb_typeof(c->'fence') = 'object' THEN
        PERFORM 1 FROM run_executions
          WHERE id = c->'fence'->>'executionId' AND doc->>'owner' = c->'fence'->>'owner'
          FOR SHARE;
        IF NOT FOUND THEN
          RAISE EXCEPTION 'run execution % is no longer owned by %',
              c->'fence'->>'executionId', c->'fence'->>'owner'
            USING ERRCODE = 'CX003',
              DETAIL = coalesce((SELECT doc->>'owner' FROM run_executions
                WHERE id = c->'fence'->>'executionId'), '');
        END IF;
      END IF;
      FOR r IN SELECT d.number AS n, d.sequence_number AS s FROM conax_commit_checked(
          ARRAY(SELECT (jsonb_array_elements_text(c->'lanes'))::bigint),
          CASE WHEN jsonb_typeof(c->'subscription') = 'object' THEN c->'subscription' END,
          coalesce((c->>'check')::boolean, false),
          CASE WHEN jsonb_typeof(c->'basedOn') = 'object' THEN c->'basedOn' END,
          CASE WHEN jsonb_typeof(c->'itemIds') = 'array'
            THEN ARRAY(SELECT jsonb_array_elements_text(c->'itemIds')) END,
          ARRAY(SELECT jsonb_array_elements(c->'docs'))) AS d LOOP
        item := i;
        number := r.n;
        sequence_number := r.s;
        refusal := NULL;
        detail := NULL;
        got := true;
        RETURN NEXT;
      END LOOP;
      IF NOT got THEN
        item := i;
        number := NULL;
        sequence_number := NULL;
        refusal := NULL;
        detail := NULL;
        RETURN NEXT;
      END IF;
    EXCEPTION WHEN SQLSTATE 'CX001' OR SQLSTATE 'CX002' OR SQLSTATE 'CX003' OR SQLSTATE '2200H' THEN
      GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
      item := i;
      number := NULL;
      sequence_number := NULL;
      refusal := SQLSTATE;
      RETURN NEXT;
    END;
  END LOOP;
END;
$$;
