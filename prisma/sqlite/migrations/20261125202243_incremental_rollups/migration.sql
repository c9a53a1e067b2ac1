-- AlterTable: added in place rather than by copying the table
ALTER TABLE "Trace" ADD COLUMN "openCount" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "Trace" ADD COLUMN "errorCount" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "Trace" ADD COLUMN "tagCounts" JSONB;

-- The counts that rollups are now kept by, from the spans already stored.
UPDATE "Trace" SET
  "openCount" = (SELECT COUNT(*) FROM "Span" AS "s" WHERE "s"."projectId" = "Trace"."projectId" AND "s"."traceId" = "Trace"."id" AND "s"."endTime" IS NULL),
  "errorCount" = (SELECT COUNT(*) FROM "Span" AS "s" WHERE "s"."projectId" = "Trace"."projectId" AND "s"."traceId" = "Trace"."id" AND "s"."error" IS NOT NULL),
  "tagCounts" = (SELECT json_group_object("tag", "n") FROM (
    SELECT "e"."value" AS "tag", COUNT(*) AS "n" FROM "Span" AS "s", json_each("s"."tags") AS "e"
    WHERE "s"."projectId" = "Trace"."projectId" AND "s"."traceId" = "Trace"."id" GROUP BY "e"."value"));

-- CreateIndex
CREATE INDEX "Span_projectId_traceId_endTime_idx" ON "Span"("projectId", "traceId", "endTime");
