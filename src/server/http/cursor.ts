import type { z } from "zod";
import { badRequest } from "./problem.js";

/** Opaque cursors: base64url JSON of the last row's sort key. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

export function decodeCursor<T extends z.ZodType>(cursor: string | undefined, schema: T): z.output<T> | null {
  if (!cursor) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through to the 400 below
  }
  throw badRequest("invalid_cursor", "The cursor is not valid; start again without it.", [
    { path: "cursor", message: "Invalid cursor.", in: "query" },
  ]);
}
