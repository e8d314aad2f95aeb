-- Up Migration

-- A payload over about 2 KB (a model call's request and response) was compressed and, if the row
-- was still over 2 KB, moved out of line to the TOAST table: reading it cost a TOAST index probe
-- and TOAST pages besides the row, and storing it a TOAST row and index entry. MAIN keeps it
-- compressed in the row, out of line only when the row would not fit a page. A session's
-- timeline touched half the pages (200 sessions of a 200,000-event corpus: 5,576 against 11,271).
-- Rows stored before this migration stay as they are.
ALTER TABLE events ALTER COLUMN payload SET STORAGE MAIN;

-- lz4 compressed the corpus's large payloads three times faster than pglz, 4% larger. A
-- PostgreSQL built without lz4 (PGlite is) keeps pglz.
DO $$
BEGIN
  ALTER TABLE events ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'this PostgreSQL has no lz4: payloads stay compressed with pglz';
END $$;

-- Down Migration
ALTER TABLE events ALTER COLUMN payload SET STORAGE EXTENDED;
ALTER TABLE events ALTER COLUMN payload SET COMPRESSION default;
