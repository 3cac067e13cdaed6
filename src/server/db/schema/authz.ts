import { pgTable, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * App instances that cache authorization data, each with a lease it renews while its
 * notification connection is alive. A state-changing request waits until every instance
 * holding a lease has seen its change (src/server/authz/pg-bus.ts).
 */
export const authzInstances = pgTable("authz_instances", {
  id: uuid("id").primaryKey(),
  leaseUntil: timestamp("lease_until", { withTimezone: true, mode: "date" }).notNull(),
});
