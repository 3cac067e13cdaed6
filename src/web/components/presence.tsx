import * as Menu from "@radix-ui/react-dropdown-menu";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { PRESENCE_STATUSES, type PresenceDto, type PresenceStatusValue } from "../../shared/schemas/presence.js";
import { api } from "../lib/api.js";
import { permissionsOf, useOrgMe } from "../lib/session.js";
import { cx } from "./ui.js";

const DOT: Record<PresenceStatusValue, string> = {
  online: "bg-emerald-600",
  busy: "bg-amber-500",
  offline: "bg-slate-400",
};

const presenceKey = (orgId: string) => ["presence", orgId] as const;

/**
 * The header's availability switch (DESIGN §7.4): online members receive conversations from the
 * assignment rules, busy and offline ones do not. Shown only to members who can hold chats.
 */
export function PresenceSwitch({ orgId }: { orgId: string }) {
  const { t } = useTranslation();
  const orgMe = useOrgMe(orgId);
  const can = permissionsOf(orgMe.data);
  const holdsChats = Boolean(orgMe.data) && (can("chats:read_all") || can("chats:read_assigned"));
  const qc = useQueryClient();
  const presence = useQuery({
    queryKey: presenceKey(orgId),
    enabled: holdsChats,
    queryFn: () => api<PresenceDto>(`/orgs/${orgId}/me/presence`),
  });
  const change = useMutation({
    mutationFn: (status: PresenceStatusValue) =>
      api<PresenceDto>(`/orgs/${orgId}/me/presence`, { method: "PUT", body: { status } }),
    onSuccess: (data) => {
      qc.setQueryData(presenceKey(orgId), data);
      void qc.invalidateQueries({ queryKey: ["inbox", orgId] });
    },
  });
  if (!holdsChats || !presence.data) return null;
  const status = presence.data.status;
  return (
    <Menu.Root>
      <Menu.Trigger asChild>
        <button
          type="button"
          data-testid="presence-switch"
          className="flex h-9 items-center gap-2 rounded-full px-2.5 text-sm text-slate-700 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-emerald-600"
        >
          <span aria-hidden="true" className={cx("h-2.5 w-2.5 rounded-full", DOT[status])} />
          <span className="hidden sm:inline">{t(`presence.${status}`)}</span>
          <span className="sr-only sm:hidden">{t("presence.label", { status: t(`presence.${status}`) })}</span>
        </button>
      </Menu.Trigger>
      <Menu.Portal>
        <Menu.Content
          align="end"
          sideOffset={6}
          className="z-50 w-64 rounded-xl border border-slate-200 bg-white p-1 shadow-lg"
        >
          <Menu.Label className="px-2 py-1.5 text-xs text-slate-600">{t("presence.help")}</Menu.Label>
          <Menu.RadioGroup value={status} onValueChange={(v) => change.mutate(v as PresenceStatusValue)}>
            {PRESENCE_STATUSES.map((s) => (
              <Menu.RadioItem
                key={s}
                value={s}
                className="flex cursor-pointer items-center gap-2 rounded-lg px-2 py-2 text-sm text-slate-800 outline-none data-[highlighted]:bg-slate-100"
              >
                <span aria-hidden="true" className={cx("h-2.5 w-2.5 rounded-full", DOT[s])} />
                <span className="flex-1">{t(`presence.${s}`)}</span>
                <Menu.ItemIndicator aria-hidden="true">✓</Menu.ItemIndicator>
              </Menu.RadioItem>
            ))}
          </Menu.RadioGroup>
          <p className="px-2 py-1.5 text-xs text-slate-600">
            {t("presence.load", { open: presence.data.openAssigned, capacity: presence.data.capacity })}
          </p>
        </Menu.Content>
      </Menu.Portal>
    </Menu.Root>
  );
}
