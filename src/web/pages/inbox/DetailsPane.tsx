import { type ReactNode, useState } from "react";
import { useTranslation } from "react-i18next";
import { SelectField } from "../../components/fields.js";
import { Button, FormError, Modal, TextLink, toast } from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { ApiError } from "../../lib/api.js";
import { formatDate } from "../../lib/i18n.js";
import { type Conversation, conversationActions, useConversation } from "../../lib/inbox.js";
import { AssignDialog, TagsDialog, useConversationChange } from "./actions.js";
import { StatusChip } from "./InboxPage.js";

/** The priorities the server accepts (PATCH …/conversations/:id `priority`, 0–3). */
export const PRIORITIES = [0, 1, 2, 3] as const;

/**
 * The third pane of the inbox on wide screens (≥ 1280 px): the contact and the conversation's
 * details. Narrower screens open the same content from the thread's "Details" button (DetailsSheet).
 */
export function DetailsAside({ orgId, conversationId }: { orgId: string; conversationId: string }) {
  const { t } = useTranslation();
  const conv = useConversation(orgId, conversationId);
  if (!conv.data) return null;
  return (
    <aside
      aria-label={t("inbox.detailsLabel")}
      className="hidden min-w-0 overflow-y-auto rounded-xl border border-slate-200 bg-white p-4 shadow-sm xl:block xl:w-60 xl:shrink-0"
      data-testid="details-pane"
    >
      <ConversationDetails c={conv.data} />
    </aside>
  );
}

/** Below 1280 px: the "Details" button of the thread's header and its side sheet. */
export function DetailsSheet({ c }: { c: Conversation }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button size="sm" variant="secondary" className="xl:hidden" onClick={() => setOpen(true)}>
        {t("inbox.details")}
      </Button>
      <Modal open={open} onOpenChange={setOpen} title={t("inbox.detailsLabel")} side>
        <div data-testid="details-pane">
          <ConversationDetails c={c} />
        </div>
      </Modal>
    </>
  );
}

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs font-medium text-slate-500">{label}</dt>
      <dd className="break-words text-sm text-slate-900">{children}</dd>
    </div>
  );
}

/**
 * Contact: name, phone, WhatsApp id, marketing opt-out, a link to Contacts (contacts:read).
 * Conversation: status, priority, assignee, team, tags. Changes only where the caller may make them
 * (conversationActions, the server's rules): priority with chats:reply on a conversation they may
 * see, the assignee and team with chats:assign, tags with chats:reply (the picker reads
 * GET /conversations/tags, open to chat readers).
 */
export function ConversationDetails({ c }: { c: Conversation }) {
  const { t } = useTranslation();
  const { orgId, me, can } = useOrgContext();
  const actions = conversationActions(me, c);
  const [dialog, setDialog] = useState<"assign" | "tags" | null>(null);
  const change = useConversationChange(c);
  const close = () => setDialog(null);
  const canTag = actions.setStatus;
  return (
    <div className="flex flex-col gap-5">
      <section aria-labelledby={`details-contact-${c.id}`}>
        <h3 id={`details-contact-${c.id}`} className="mb-2 text-sm font-semibold text-slate-900">
          {t("inbox.contactSection")}
        </h3>
        <dl className="flex flex-col gap-2" data-testid="details-contact">
          <Row label={t("inbox.contactName")}>{c.contact.name ?? t("inbox.noName")}</Row>
          <Row label={t("inbox.phone")}>
            <span className="tabular-nums">{c.contact.phone}</span>
          </Row>
          <Row label={t("inbox.waId")}>
            <span className="tabular-nums">{c.contact.waId ?? "—"}</span>
          </Row>
          <Row label={t("inbox.marketing")}>
            <span data-testid="details-opt-out" data-opted-out={String(c.contact.optedOut)}>
              {c.contact.optedOut ? t("inbox.optedOut") : t("inbox.optedIn")}
            </span>
          </Row>
        </dl>
        {can("contacts:read") ? (
          <TextLink
            className="mt-2 inline-block text-sm"
            to={`/orgs/${orgId}/contacts?q=${encodeURIComponent(c.contact.phone)}`}
          >
            {t("inbox.openContact")}
          </TextLink>
        ) : null}
      </section>
      <section aria-labelledby={`details-conversation-${c.id}`}>
        <h3 id={`details-conversation-${c.id}`} className="mb-2 text-sm font-semibold text-slate-900">
          {t("inbox.conversationSection")}
        </h3>
        <dl className="flex flex-col gap-2" data-testid="details-conversation">
          <Row label={t("inbox.filterStatus")}>
            <StatusChip status={c.status} />
            {c.status === "snoozed" && c.snoozedUntil ? (
              <span className="ml-1 text-xs text-slate-600">
                {t("inbox.snoozedUntil", { time: formatDate(c.snoozedUntil) })}
              </span>
            ) : null}
          </Row>
          {actions.setStatus ? null : (
            <Row label={t("inbox.priority")}>
              <span data-testid="details-priority">{t(`inbox.priorities.${c.priority}`, { defaultValue: "—" })}</span>
            </Row>
          )}
          <Row label={t("inbox.assignee")}>
            <span data-testid="details-assignee">{c.assignee ? c.assignee.name : t("inbox.unassigned")}</span>
          </Row>
          <Row label={t("inbox.team")}>{c.team ? c.team.name : t("inbox.noTeam")}</Row>
          <Row label={t("inbox.tags")}>
            {c.tags.length ? (
              <ul className="mt-0.5 flex flex-wrap gap-1" data-testid="details-tags">
                {c.tags.map((tag) => (
                  <li
                    key={tag.id}
                    className="inline-flex max-w-full items-center gap-1 rounded-full bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-800 ring-1 ring-inset ring-slate-200"
                  >
                    <span
                      className="size-2 shrink-0 rounded-full"
                      style={{ background: tag.color }}
                      aria-hidden="true"
                    />
                    <span className="truncate">{tag.name}</span>
                  </li>
                ))}
              </ul>
            ) : (
              <span className="text-slate-600">{t("inbox.noTags")}</span>
            )}
          </Row>
        </dl>
        {actions.setStatus ? (
          <SelectField
            className="mt-3"
            label={t("inbox.priority")}
            value={String(c.priority)}
            disabled={change.isPending}
            onChange={(e) =>
              change.mutate(
                { path: "", method: "PATCH", body: { priority: Number(e.target.value) } },
                { onSuccess: () => toast(t("inbox.priorityDone")) },
              )
            }
          >
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {t(`inbox.priorities.${p}`)}
              </option>
            ))}
          </SelectField>
        ) : null}
        {change.error && !(change.error instanceof ApiError && change.error.code === "conversation_changed") ? (
          <div className="mt-2">
            <FormError error={change.error} />
          </div>
        ) : null}
        {actions.assign || canTag ? (
          <div className="mt-3 flex flex-wrap gap-2">
            {actions.assign ? (
              <Button size="sm" variant="secondary" onClick={() => setDialog("assign")}>
                {t("inbox.changeAssignee")}
              </Button>
            ) : null}
            {canTag ? (
              <Button size="sm" variant="secondary" onClick={() => setDialog("tags")}>
                {t("inbox.editTags")}
              </Button>
            ) : null}
          </div>
        ) : null}
      </section>
      {dialog === "assign" ? <AssignDialog c={c} expected={c.assignee?.memberId ?? null} onClose={close} /> : null}
      {dialog === "tags" ? <TagsDialog c={c} onClose={close} /> : null}
    </div>
  );
}
