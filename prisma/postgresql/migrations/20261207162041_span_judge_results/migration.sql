-- AlterTable
ALTER TABLE "Span" ADD COLUMN     "observations" TEXT,
ADD COLUMN     "scorerContext" JSONB;
