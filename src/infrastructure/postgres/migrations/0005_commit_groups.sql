-- Several actions' commits in one transaction (issue 13, docs/decisions/0017): one WAL flush for
-- the group instead of one per action, as the file store groups its writes. Each element of
-- `commits` is one conax_commit_checked call ({lanes, subscription, check, basedOn, itemIds,
-- docs}); each runs in its own subtransaction, so that a refused one (CX001, CX002, 2200H) is
-- answered with its SQLSTATE and leaves the others committed. Every lane of the group is locked
-- first, in one order: groups and single commits never wait for each other in a cycle.
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
    EXCEPTION WHEN SQLSTATE 'CX001' OR SQLSTATE 'CX002' OR SQLSTATE '2200H' THEN
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
