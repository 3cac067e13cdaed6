import { useQuery } from "@tanstack/react-query";
import { api, itemsOf } from "./api.js";

/** A WhatsApp number as any member may see it (GET /orgs/:orgId/channels/options). */
export interface ChannelOption {
  id: string;
  name: string;
  displayPhoneNumber: string;
  mode: "cloud" | "simulator";
}

/** Under the WhatsApp page's key, so connecting or removing a number refreshes every picker. */
export const channelOptionsKey = (orgId: string) => ["org", orgId, "channels", "options"] as const;

/** The numbers a member may pick or filter by: no settings:read needed (no Meta ids, no secrets). */
export function useChannelOptions(orgId: string): ChannelOption[] {
  const q = useQuery({
    queryKey: channelOptionsKey(orgId),
    queryFn: async () => itemsOf<ChannelOption>(await api(`/orgs/${orgId}/channels/options`)),
  });
  return q.data ?? [];
}
