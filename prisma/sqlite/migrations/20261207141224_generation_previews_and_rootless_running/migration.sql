-- AlterTable
ALTER TABLE "Trace" ADD COLUMN "generationInputPreview" TEXT;
ALTER TABLE "Trace" ADD COLUMN "generationInputSpanId" TEXT;
ALTER TABLE "Trace" ADD COLUMN "generationInputStart" DATETIME;
ALTER TABLE "Trace" ADD COLUMN "generationOutputPreview" TEXT;
ALTER TABLE "Trace" ADD COLUMN "generationOutputSpanId" TEXT;
ALTER TABLE "Trace" ADD COLUMN "generationOutputStart" DATETIME;

-- A trace whose root span has not arrived is RUNNING, not OK or ERROR: exporters without pending
-- spans send the steps as they end and the root last. Traces stored before this rule follow it now.
UPDATE "Trace" SET "status" = 'RUNNING', "durationMs" = NULL WHERE "rootSpanId" IS NULL AND "spanCount" > 0;
