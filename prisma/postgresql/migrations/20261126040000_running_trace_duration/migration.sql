-- A trace has a duration only once it is no longer RUNNING: rows written before, whose durationMs
-- was the latest span end so far, lose it until the trace finishes.
UPDATE "Trace" SET "durationMs" = NULL WHERE "status" = 'RUNNING';
