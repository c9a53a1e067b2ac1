-- AlterTable
ALTER TABLE "Trace" ADD COLUMN     "errorCount" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "openCount" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "tagCounts" JSONB;

-- The counts that rollups are now kept by, from the spans already stored.
UPDATE "Trace" AS "t" SET
  "openCount" = (SELECT COUNT(*) FROM "Span" AS "s" WHERE "s"."projectId" = "t"."projectId" AND "s"."traceId" = "t"."id" AND "s"."endTime" IS NULL),
  "errorCount" = (SELECT COUNT(*) FROM "Span" AS "s" WHERE "s"."projectId" = "t"."projectId" AND "s"."traceId" = "t"."id" AND "s"."error" IS NOT NULL),
  "tagCounts" = (SELECT COALESCE(jsonb_object_agg("x"."tag", "x"."n"), '{}'::jsonb) FROM (
    SELECT "e"."tag", COUNT(*) AS "n" FROM "Span" AS "s", jsonb_array_elements_text("s"."tags") AS "e"("tag")
    WHERE "s"."projectId" = "t"."projectId" AND "s"."traceId" = "t"."id" GROUP BY "e"."tag") AS "x");

-- CreateIndex
CREATE INDEX "Span_projectId_traceId_endTime_idx" ON "Span"("projectId", "traceId", "endTime");
