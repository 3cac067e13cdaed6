import * as Menu from "@radix-ui/react-dropdown-menu";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { type Column, DataTable, LoadMore, useUrlFilters } from "../../components/data.js";
import { DeleteConfirm, useDeleteRow } from "../../components/delete-confirm.js";
import { Checkbox, SelectField, TextField } from "../../components/fields.js";
import { MenuAction, MenuPanel, MenuSeparator } from "../../components/menu.js";
import { actionsColumn, editDeleteColumn } from "../../components/table-card.js";
import {
  Button,
  buttonClass,
  Card,
  Confirm,
  ErrorState,
  PageHeader,
  Spinner,
  toast,
  useDebounced,
} from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { api } from "../../lib/api.js";
import { useCursorList } from "../../lib/cursor-list.js";
import { formatDate, relativeTime } from "../../lib/i18n.js";
import { describeError } from "../../lib/problems.js";
import {
  type BulkAction,
  CONTACT_SORTS,
  type Contact,
  type ContactSort,
  exportUrl,
  useLists,
  useTags,
  wk,
} from "../../lib/workspace.js";
import { ContactDrawer, ImportDialog } from "./contact-dialogs.js";
import { ContactsTabs, TagChip } from "./shared.js";

const PAGE = 50;

interface PendingBulk {
  action: BulkAction;
  targetId?: string;
  targetName?: string;
}

export function ContactsPage() {
  const { t } = useTranslation();
  const { orgId, can } = useOrgContext();
  const qc = useQueryClient();
  const canManage = can("contacts:manage");
  const canTransfer = can("contacts:import_export");

  // Search, filters and sort live in the address: a reload or a shared link shows the same contacts.
  const [url, setParam] = useUrlFilters({ q: "", tagId: "", listId: "", sort: "created" });
  const { q: urlQ, tagId, listId } = url;
  const sort: ContactSort = CONTACT_SORTS.includes(url.sort as ContactSort) ? (url.sort as ContactSort) : "created";
  const [search, setSearch] = useState(urlQ);
  const q = useDebounced(search.trim(), 300);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the debounced search goes to the address
  useEffect(() => {
    if (q !== urlQ) setParam("q", q);
  }, [q]);
  // The address changed from outside (back button, a link): the box follows.
  // biome-ignore lint/correctness/useExhaustiveDependencies: only when the address changes
  useEffect(() => {
    if (urlQ !== search.trim()) setSearch(urlQ);
  }, [urlQ]);

  const tags = useTags(orgId);
  const lists = useLists(orgId);
  const tagById = useMemo(() => new Map((tags.data ?? []).map((x) => [x.id, x])), [tags.data]);
  const listById = useMemo(() => new Map((lists.data ?? []).map((x) => [x.id, x])), [lists.data]);

  const filters = { q: urlQ, tagId, listId };
  const filtered = Boolean(urlQ || tagId || listId);
  const contacts = useCursorList<Contact>({
    queryKey: wk.contacts(orgId),
    path: `/orgs/${orgId}/contacts`,
    limit: PAGE,
    filters: { ...filters, sort },
  });
  const rows = contacts.data ?? [];

  const [selected, setSelected] = useState<Set<string>>(new Set());
  // A new search or filter starts a new selection (what is selected stays what is seen).
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset when the filters change
  useEffect(() => {
    setSelected(new Set());
    setMatching(false);
  }, [urlQ, tagId, listId]);
  // Every contact the filter matches, loaded or not (a bulk action on the filter, not on ids).
  const [matching, setMatching] = useState(false);
  const toggle = (id: string, on: boolean) => {
    if (!on) setMatching(false);
    setSelected((prev) => {
      const next = new Set(prev);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  };
  const allSelected = rows.length > 0 && rows.every((r) => selected.has(r.id));

  const [drawer, setDrawer] = useState<{ contact: Contact | null } | null>(null);
  const [importOpen, setImportOpen] = useState(false);
  const [bulk, setBulk] = useState<PendingBulk | null>(null);

  const invalidate = () => {
    void qc.invalidateQueries({ queryKey: wk.contacts(orgId) });
    void qc.invalidateQueries({ queryKey: wk.lists(orgId) });
  };
  const del = useDeleteRow({
    path: (c: Contact) => `/orgs/${orgId}/contacts/${c.id}`,
    deleted: (c) => t("contacts.deleted", { name: c.name ?? c.phone }),
    invalidate: [wk.contacts(orgId), wk.lists(orgId)],
    onDeleted: (c) => toggle(c.id, false),
  });
  const runBulk = useMutation({
    mutationFn: (b: PendingBulk) =>
      api<{ matched: number; touched: number }>(`/orgs/${orgId}/contacts/bulk`, {
        method: "POST",
        body: {
          action: b.action,
          ...(matching
            ? { filter: Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== "")) }
            : { contactIds: [...selected] }),
          ...(b.action.includes("tag") ? { tagId: b.targetId } : {}),
          ...(b.action.includes("list") ? { listId: b.targetId } : {}),
        },
      }),
    onSuccess: (r, b) => {
      toast(t(`contacts.bulkDone.${b.action}`, { count: r.touched, name: b.targetName ?? "" }));
      setBulk(null);
      if (b.action === "delete" || matching) {
        setSelected(new Set());
        setMatching(false);
      }
      invalidate();
    },
    onError: (e) => {
      if (!bulk) toast(describeError(e), "error");
    },
  });
  const startBulk = (b: PendingBulk) => {
    if (b.action === "delete") setBulk(b);
    else runBulk.mutate(b);
  };

  const count = selected.size;
  const columns: Column<Contact>[] = [
    {
      key: "contact",
      label: t("contacts.colContact"),
      cell: (c) => (
        <div className="flex min-w-0 items-center gap-3">
          {canManage ? (
            <input
              type="checkbox"
              className="size-4 shrink-0 accent-emerald-600"
              checked={selected.has(c.id)}
              onChange={(e) => toggle(c.id, e.target.checked)}
              aria-label={t("contacts.select", { name: c.name ?? c.phone })}
            />
          ) : null}
          <div className="min-w-0">
            <p className="truncate font-medium text-slate-900">{c.name ?? t("contacts.noName")}</p>
            <p className="truncate text-xs tabular-nums text-slate-500">{c.phone}</p>
          </div>
        </div>
      ),
    },
    {
      key: "tags",
      label: t("contacts.colTags"),
      cell: (c) =>
        c.tagIds.length ? (
          <div className="flex min-w-0 flex-wrap gap-1">
            {c.tagIds.map((id) => {
              const tag = tagById.get(id);
              return tag ? <TagChip key={id} tag={tag} /> : null;
            })}
          </div>
        ) : (
          <span className="text-slate-500">—</span>
        ),
    },
    {
      key: "lists",
      label: t("contacts.colLists"),
      from: "md",
      cell: (c) => (
        <span className="text-slate-600">
          {c.listIds
            .map((id) => listById.get(id)?.name)
            .filter(Boolean)
            .join(", ") || "—"}
        </span>
      ),
    },
    {
      key: "lastMessage",
      label: t("contacts.colLastMessage"),
      from: "lg",
      className: "text-slate-600",
      cell: (c) => (c.lastMessageAt ? relativeTime(c.lastMessageAt) : "—"),
    },
    {
      key: "created",
      label: t("contacts.colCreated"),
      from: "xl",
      className: "text-slate-600",
      cell: (c) => formatDate(c.createdAt, false),
    },
  ];
  columns.push(
    canManage
      ? editDeleteColumn(t, {
          label: (c) => t("contacts.actionsFor", { name: c.name ?? c.phone }),
          onEdit: (c) => setDrawer({ contact: c }),
          onDelete: del.ask,
        })
      : actionsColumn(t, (c) => (
          <Button variant="ghost" size="sm" onClick={() => setDrawer({ contact: c })}>
            {t("contacts.view")}
          </Button>
        )),
  );

  return (
    <div>
      <PageHeader
        title={t("contacts.title")}
        subtitle={canManage ? t("contacts.subtitle") : t("contacts.subtitleReadOnly")}
        actions={
          <>
            {canTransfer ? (
              <a
                className={buttonClass("secondary")}
                href={exportUrl(orgId, filters)}
                download
                data-testid="export-link"
              >
                {filtered ? t("contacts.exportFiltered") : t("contacts.export")}
              </a>
            ) : null}
            {canTransfer && canManage ? (
              <Button variant="secondary" onClick={() => setImportOpen(true)}>
                {t("contacts.import")}
              </Button>
            ) : null}
            {canManage ? <Button onClick={() => setDrawer({ contact: null })}>{t("contacts.new")}</Button> : null}
          </>
        }
      />
      <ContactsTabs />

      <Card className="overflow-hidden">
        <div className="-mx-4 -mt-4 grid grid-cols-2 gap-3 border-b border-slate-100 px-4 py-3 sm:-mx-5 sm:px-5 lg:grid-cols-[minmax(0,2fr)_repeat(3,minmax(0,1fr))] lg:items-end">
          <TextField
            className="col-span-2 lg:col-span-1"
            label={t("common.search")}
            type="search"
            placeholder={t("contacts.searchPlaceholder")}
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
          <SelectField
            label={t("contacts.tagFilter")}
            value={tagId}
            onChange={(e) => setParam("tagId", e.target.value)}
          >
            <option value="">{t("contacts.allTags")}</option>
            {(tags.data ?? []).map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}
              </option>
            ))}
          </SelectField>
          <SelectField
            label={t("contacts.listFilter")}
            value={listId}
            onChange={(e) => setParam("listId", e.target.value)}
          >
            <option value="">{t("contacts.allLists")}</option>
            {(lists.data ?? []).map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}
              </option>
            ))}
          </SelectField>
          <SelectField
            className="col-span-2 lg:col-span-1"
            label={t("contacts.sort")}
            value={sort}
            onChange={(e) => setParam("sort", e.target.value)}
          >
            {CONTACT_SORTS.map((s) => (
              <option key={s} value={s}>
                {t(`contacts.sortBy.${s}`)}
              </option>
            ))}
          </SelectField>
        </div>

        {canManage && rows.length ? (
          <div
            className="-mx-4 flex min-h-12 flex-wrap items-center gap-x-3 gap-y-2 border-b border-slate-100 bg-slate-50/60 px-4 py-2 sm:-mx-5 sm:px-5"
            data-testid="bulk-bar"
          >
            <Checkbox
              checked={allSelected}
              onCheckedChange={(on) => {
                setSelected(on ? new Set(rows.map((r) => r.id)) : new Set());
                setMatching(false);
              }}
              label={
                matching
                  ? t("contacts.allMatchingSelected")
                  : count
                    ? t("contacts.selectedCount", { count })
                    : t("contacts.selectAll")
              }
            />
            {allSelected && contacts.hasNextPage && !matching ? (
              <button
                type="button"
                className="text-sm font-medium text-emerald-700 underline-offset-2 hover:underline focus-visible:outline-2 focus-visible:outline-emerald-600"
                onClick={() => setMatching(true)}
              >
                {filtered ? t("contacts.selectAllMatching") : t("contacts.selectAllContacts")}
              </button>
            ) : null}
            {count ? (
              <div className="flex flex-wrap gap-2">
                <TargetMenu
                  label={t("contacts.bulkAddTag")}
                  items={tags.data ?? []}
                  empty={t("contacts.noTags")}
                  onPick={(x) => startBulk({ action: "add_tag", targetId: x.id, targetName: x.name })}
                />
                <TargetMenu
                  label={t("contacts.bulkRemoveTag")}
                  items={tags.data ?? []}
                  empty={t("contacts.noTags")}
                  onPick={(x) => startBulk({ action: "remove_tag", targetId: x.id, targetName: x.name })}
                />
                <TargetMenu
                  label={t("contacts.bulkAddList")}
                  items={lists.data ?? []}
                  empty={t("contacts.noLists")}
                  onPick={(x) => startBulk({ action: "add_to_list", targetId: x.id, targetName: x.name })}
                />
                <TargetMenu
                  label={t("contacts.bulkRemoveList")}
                  items={lists.data ?? []}
                  empty={t("contacts.noLists")}
                  onPick={(x) => startBulk({ action: "remove_from_list", targetId: x.id, targetName: x.name })}
                />
                <Button
                  variant="ghost"
                  size="sm"
                  className="text-red-700"
                  onClick={() => startBulk({ action: "delete" })}
                >
                  {t("contacts.bulkDelete")}
                </Button>
              </div>
            ) : null}
          </div>
        ) : null}

        {contacts.isPending ? (
          <Spinner />
        ) : contacts.error ? (
          <div className="pt-4">
            <ErrorState error={contacts.error} onRetry={() => void contacts.refetch()} />
          </div>
        ) : !rows.length ? (
          <p className="py-8 text-center text-sm text-slate-500" data-testid="contacts-empty">
            {filtered ? t("contacts.noMatches") : t("contacts.empty")}
          </p>
        ) : (
          <DataTable
            label={t("contacts.title")}
            columns={columns}
            rows={rows}
            rowKey={(c) => c.id}
            rowProps={(c) => ({ "data-testid": "contact-row", "data-phone": c.phone })}
          />
        )}
        <LoadMore query={contacts} />
      </Card>

      {drawer ? (
        <ContactDrawer
          contact={drawer.contact}
          readOnly={!canManage}
          tags={tags.data ?? []}
          lists={lists.data ?? []}
          onClose={() => setDrawer(null)}
        />
      ) : null}
      {canManage && canTransfer ? <ImportDialog open={importOpen} onOpenChange={setImportOpen} /> : null}
      <DeleteConfirm
        del={del}
        title={t("contacts.deleteTitle")}
        body={t("contacts.deleteBody", { name: del.row?.name ?? del.row?.phone ?? "" })}
      />
      <Confirm
        open={bulk?.action === "delete"}
        onOpenChange={(o) => {
          if (!o) {
            setBulk(null);
            runBulk.reset();
          }
        }}
        title={matching ? t("contacts.bulkDeleteMatchingTitle") : t("contacts.bulkDeleteTitle", { count })}
        body={matching ? t("contacts.bulkDeleteMatchingBody", { count }) : t("contacts.bulkDeleteBody", { count })}
        confirmLabel={matching ? t("contacts.bulkDeleteMatchingConfirm") : t("contacts.bulkDeleteConfirm", { count })}
        onConfirm={() => bulk && runBulk.mutate(bulk)}
        pending={runBulk.isPending}
        error={runBulk.error}
      />
    </div>
  );
}

/** A bulk action's button that opens the list of tags (or lists) to apply it with. */
function TargetMenu<T extends { id: string; name: string }>({
  label,
  items,
  empty,
  onPick,
}: {
  label: string;
  items: T[];
  empty: string;
  onPick: (item: T) => void;
}) {
  return (
    <Menu.Root>
      <Menu.Trigger asChild>
        <Button variant="secondary" size="sm">
          {label}
          <svg viewBox="0 0 20 20" className="size-4 text-slate-400" aria-hidden="true">
            <path d="M6 8l4 4 4-4" fill="none" stroke="currentColor" strokeWidth="2" />
          </svg>
        </Button>
      </Menu.Trigger>
      <MenuPanel align="start" narrow>
        {items.length ? (
          items.map((x) => (
            <MenuAction key={x.id} onSelect={() => onPick(x)}>
              {x.name}
            </MenuAction>
          ))
        ) : (
          <>
            <p className="px-2 py-1.5 text-sm text-slate-500">{empty}</p>
            <MenuSeparator />
          </>
        )}
      </MenuPanel>
    </Menu.Root>
  );
}
