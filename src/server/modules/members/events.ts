import { EventEmitter } from "node:events";
import type { AppContext } from "../../context.js";

export interface MemberRemovedEvent {
  orgId: string;
  userId: string;
  memberId: string;
  reason: "removed" | "left" | "organization_deleted";
}

/** Events of member access, emitted after the change commits. */
export interface MemberEventMap {
  memberRemoved: [MemberRemovedEvent];
}

export type MemberEvents = EventEmitter<MemberEventMap>;

/**
 * In-process hook for real-time streams (built later): a stream of an organization
 * subscribes to `memberRemoved` and closes when its member is removed. Access itself is
 * revoked by the database (its trigger retires the guard's cached membership on every
 * instance before the removal is answered); this only closes what
 * is already open. One emitter per app (keyed by its context), never a process global, so
 * two app instances in one process (tests) do not hear each other.
 */
const emitters = new WeakMap<AppContext, MemberEvents>();

export function memberEvents(ctx: AppContext): MemberEvents {
  let e = emitters.get(ctx);
  if (!e) {
    e = new EventEmitter<MemberEventMap>();
    // Many open streams may listen; the default cap of 10 would only produce warnings.
    e.setMaxListeners(0);
    emitters.set(ctx, e);
  }
  return e;
}

/** Emits without letting a listener's failure reach the request that caused the event. */
export function emitMemberRemoved(ctx: AppContext, event: MemberRemovedEvent): void {
  try {
    memberEvents(ctx).emit("memberRemoved", event);
  } catch (err) {
    ctx.log.error({ err }, "memberRemoved listener failed");
  }
}
