import { z } from "zod";
import { keysetCursor } from "../activity/query.js";

/**
 * (timestamp, uuid) keyset of the /me lists. The date must round-trip, so a forged cursor
 * such as February 30th is a 400 (invalid_cursor), not a database error.
 */
export const uuidKeyset = keysetCursor.extend({ id: z.uuid() }).refine((k) => {
  const d = new Date(`${k.at.slice(0, 23)}Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 19) === k.at.slice(0, 19);
});
