import * as Menu from "@radix-ui/react-dropdown-menu";
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Checkbox, SelectField, TextArea, TextField } from "../../components/fields.js";
import { MenuAction, MenuPanel } from "../../components/menu.js";
import { Button, DialogActions, FormError, Modal, toast } from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { ApiError, api } from "../../lib/api.js";
import {
  type Conversation,
  type ConversationActions,
  type ConversationStatus,
  useAssignees,
  useConversationTagOptions,
  useInboxRefresh,
} from "../../lib/inbox.js";
import { describeError } from "../../lib/problems.js";
import { useTeams } from "../../lib/workspace.js";

/**
 * A change refused because someone else changed the conversation first (409 conversation_changed):
 * the conversation is read again and the person told, nothing is retried behind their back.
 */
export function useConversationChange(c: Conversation, onDone?: () => void) {
  const { orgId } = useOrgContext();
  const refresh = useInboxRefresh(orgId);
  return useMutation({
    mutationFn: ({ path, method, body }: { path: string; method: string; body: unknown }) =>
      api<Conversation>(`/orgs/${orgId}/conversations/${c.id}${path}`, { method, body }),
    onSuccess: () => {
      void refresh();
      onDone?.();
    },
    onError: (e) => {
      if (e instanceof ApiError && (e.code === "conversation_changed" || e.status === 404)) {
        void refresh();
        toast(describeError(e), "error");
      }
    },
  });
}

/** Only what the caller can complete (conversationActions: the server's rules). */
export function ConversationActionsBar({ c, actions }: { c: Conversation; actions: ConversationActions }) {
  const { t } = useTranslation();
  const { me } = useOrgContext();
  const [dialog, setDialog] = useState<"assign" | "transfer" | "snooze" | "tags" | null>(null);
  const change = useConversationChange(c);
  const expected = c.assignee?.memberId ?? null;
  const setStatus = (status: ConversationStatus) =>
    change.mutate(
      { path: "", method: "PATCH", body: { status } },
      { onSuccess: () => toast(t(`inbox.statusDone.${status}`)) },
    );
  const close = () => setDialog(null);
  const any = actions.assign || actions.claim || actions.transfer || actions.setStatus;
  if (!any) return null;
  return (
    <div className="mt-2 flex flex-wrap gap-2" data-testid="conversation-actions">
      {actions.claim && !actions.assign ? (
        <Button
          size="sm"
          variant="secondary"
          disabled={change.isPending}
          onClick={() =>
            change.mutate({
              path: "/assign",
              method: "POST",
              body: { memberId: me.memberId, expectedAssigneeMemberId: null },
            })
          }
        >
          {t("inbox.takeIt")}
        </Button>
      ) : null}
      {actions.assign ? (
        <Button size="sm" variant="secondary" onClick={() => setDialog("assign")}>
          {t("inbox.assign")}
        </Button>
      ) : null}
      {actions.transfer ? (
        <Button size="sm" variant="secondary" onClick={() => setDialog("transfer")}>
          {t("inbox.transfer")}
        </Button>
      ) : null}
      {actions.setStatus ? (
        <>
          {c.status === "resolved" ? (
            <Button size="sm" variant="secondary" disabled={change.isPending} onClick={() => setStatus("open")}>
              {t("inbox.reopen")}
            </Button>
          ) : (
            <Button size="sm" disabled={change.isPending} onClick={() => setStatus("resolved")}>
              {t("inbox.resolve")}
            </Button>
          )}
          <Menu.Root>
            <Menu.Trigger asChild>
              <Button size="sm" variant="secondary">
                {t("inbox.more")}
                <svg viewBox="0 0 20 20" className="size-4 text-slate-400" aria-hidden="true">
                  <path d="M6 8l4 4 4-4" fill="none" stroke="currentColor" strokeWidth="2" />
                </svg>
              </Button>
            </Menu.Trigger>
            <MenuPanel align="end" narrow>
              {c.status !== "open" && c.status !== "resolved" ? (
                <MenuAction onSelect={() => setStatus("open")}>{t("inbox.markOpen")}</MenuAction>
              ) : null}
              {c.status !== "pending" && c.status !== "resolved" ? (
                <MenuAction onSelect={() => setStatus("pending")}>{t("inbox.markPending")}</MenuAction>
              ) : null}
              {c.status !== "resolved" ? (
                <MenuAction onSelect={() => setDialog("snooze")}>{t("inbox.snooze")}</MenuAction>
              ) : null}
              <MenuAction onSelect={() => setDialog("tags")}>{t("inbox.tags")}</MenuAction>
            </MenuPanel>
          </Menu.Root>
        </>
      ) : null}
      {change.error && !(change.error instanceof ApiError && change.error.code === "conversation_changed") ? (
        <div className="w-full">
          <FormError error={change.error} />
        </div>
      ) : null}
      {dialog === "assign" ? <AssignDialog c={c} expected={expected} onClose={close} /> : null}
      {dialog === "transfer" ? <TransferDialog c={c} onClose={close} /> : null}
      {dialog === "snooze" ? <SnoozeDialog c={c} onClose={close} /> : null}
      {dialog === "tags" ? <TagsDialog c={c} onClose={close} /> : null}
    </div>
  );
}

export function AssignDialog({
  c,
  expected,
  onClose,
}: {
  c: Conversation;
  expected: string | null;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const { orgId, can } = useOrgContext();
  const assignees = useAssignees(orgId, true);
  const teams = useTeams(orgId, can("members:read"));
  const [memberId, setMemberId] = useState(c.assignee?.memberId ?? "");
  const [teamId, setTeamId] = useState(c.team?.id ?? "");
  const [note, setNote] = useState("");
  const change = useConversationChange(c, () => {
    toast(t("inbox.assignedDone"));
    onClose();
  });
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={t("inbox.assignTitle")}>
      <form
        className="flex flex-col gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          change.mutate({
            path: "/assign",
            method: "POST",
            body: {
              memberId: memberId || null,
              expectedAssigneeMemberId: expected,
              ...(teams.data ? { teamId: teamId || null } : {}),
              ...(note.trim() ? { note: note.trim() } : {}),
            },
          });
        }}
      >
        <SelectField label={t("inbox.assignee")} value={memberId} onChange={(e) => setMemberId(e.target.value)}>
          <option value="">{t("inbox.nobody")}</option>
          {(assignees.data ?? []).map((m) => (
            <option key={m.memberId} value={m.memberId}>
              {m.name}
            </option>
          ))}
        </SelectField>
        {teams.data ? (
          <SelectField label={t("inbox.team")} value={teamId} onChange={(e) => setTeamId(e.target.value)}>
            <option value="">{t("inbox.noTeam")}</option>
            {teams.data.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}
              </option>
            ))}
          </SelectField>
        ) : null}
        <TextArea
          label={t("inbox.noteOptional")}
          rows={2}
          maxLength={1000}
          value={note}
          onChange={(e) => setNote(e.target.value)}
        />
        <FormError error={change.error} />
        <DialogActions onCancel={onClose} submitLabel={t("inbox.assign")} pending={change.isPending} />
      </form>
    </Modal>
  );
}

function TransferDialog({ c, onClose }: { c: Conversation; onClose: () => void }) {
  const { t } = useTranslation();
  const { orgId, me } = useOrgContext();
  const assignees = useAssignees(orgId, true);
  const [memberId, setMemberId] = useState("");
  const [note, setNote] = useState("");
  const change = useConversationChange(c, () => {
    toast(t("inbox.transferredDone"));
    onClose();
  });
  return (
    <Modal
      open
      onOpenChange={(o) => !o && onClose()}
      title={t("inbox.transferTitle")}
      description={t("inbox.transferHelp")}
    >
      <form
        className="flex flex-col gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          if (memberId)
            change.mutate({
              path: "/transfer",
              method: "POST",
              body: { memberId, ...(note.trim() ? { note: note.trim() } : {}) },
            });
        }}
      >
        <SelectField
          label={t("inbox.transferTo")}
          value={memberId}
          required
          onChange={(e) => setMemberId(e.target.value)}
        >
          <option value="">{t("inbox.pickMember")}</option>
          {(assignees.data ?? [])
            .filter((m) => m.memberId !== me.memberId)
            .map((m) => (
              <option key={m.memberId} value={m.memberId}>
                {m.name}
              </option>
            ))}
        </SelectField>
        <TextArea
          label={t("inbox.transferNote")}
          rows={3}
          maxLength={1000}
          value={note}
          onChange={(e) => setNote(e.target.value)}
        />
        <FormError error={change.error} />
        <DialogActions
          onCancel={onClose}
          submitLabel={t("inbox.transfer")}
          pending={change.isPending}
          disabled={!memberId}
        />
      </form>
    </Modal>
  );
}

/** `datetime-local` value for a Date in the browser's zone. */
function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function SnoozeDialog({ c, onClose }: { c: Conversation; onClose: () => void }) {
  const { t } = useTranslation();
  const [until, setUntil] = useState(localInput(new Date(Date.now() + 24 * 3600_000)));
  const change = useConversationChange(c, () => {
    toast(t("inbox.statusDone.snoozed"));
    onClose();
  });
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={t("inbox.snoozeTitle")}>
      <form
        className="flex flex-col gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          change.mutate({
            path: "",
            method: "PATCH",
            body: { status: "snoozed", snoozedUntil: new Date(until).toISOString() },
          });
        }}
      >
        <TextField
          label={t("inbox.snoozeUntil")}
          type="datetime-local"
          required
          value={until}
          min={localInput(new Date())}
          onChange={(e) => setUntil(e.target.value)}
          error={change.error instanceof ApiError ? change.error.fieldErrors.snoozedUntil : undefined}
        />
        <FormError
          error={change.error}
          fieldErrors={change.error instanceof ApiError ? change.error.fieldErrors : {}}
        />
        <DialogActions onCancel={onClose} submitLabel={t("inbox.snooze")} pending={change.isPending} />
      </form>
    </Modal>
  );
}

export function TagsDialog({ c, onClose }: { c: Conversation; onClose: () => void }) {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const tags = useConversationTagOptions(orgId);
  const [picked, setPicked] = useState(new Set(c.tagIds));
  const change = useConversationChange(c, () => {
    toast(t("inbox.tagsDone"));
    onClose();
  });
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={t("inbox.tagsTitle")}>
      <form
        className="flex flex-col gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          change.mutate({ path: "", method: "PATCH", body: { tagIds: [...picked] } });
        }}
      >
        <fieldset className="flex flex-col gap-2">
          <legend className="sr-only">{t("inbox.tags")}</legend>
          {(tags.data ?? []).length === 0 ? <p className="text-sm text-slate-600">{t("inbox.noTagsYet")}</p> : null}
          {(tags.data ?? []).map((tag) => (
            <Checkbox
              key={tag.id}
              label={tag.name}
              checked={picked.has(tag.id)}
              onCheckedChange={(on) =>
                setPicked((prev) => {
                  const next = new Set(prev);
                  if (on) next.add(tag.id);
                  else next.delete(tag.id);
                  return next;
                })
              }
            />
          ))}
        </fieldset>
        <FormError error={change.error} />
        <DialogActions onCancel={onClose} submitLabel={t("common.save")} pending={change.isPending} />
      </form>
    </Modal>
  );
}
