-- Request numbers from a sequence (issue 13): commits of different cards no longer wait for one
-- another. A commit that fails leaves its numbers unused (a gap); numbers stay unique and grow.
CREATE SEQUENCE IF NOT EXISTS request_number AS bigint MINVALUE 1;
SELECT setval('request_number', (SELECT max(number) FROM requests))
  WHERE EXISTS (SELECT 1 FROM requests);
CREATE INDEX IF NOT EXISTS requests_sequence ON requests (sequence_number);
