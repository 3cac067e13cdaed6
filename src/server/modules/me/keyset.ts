import { z } from "zod";
import { timeKeyset } from "../../http/cursor.js";

/** (timestamp, uuid) keyset of the /me lists: the shared time keyset with a UUID id. */
export const uuidKeyset = timeKeyset.extend({ id: z.uuid() });
