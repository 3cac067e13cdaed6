import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Checkbox, FieldError, TextField } from "../../components/fields.js";
import { Button, DialogActions, FormError, Modal, Notice, toast } from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { ApiError, api } from "../../lib/api.js";
import { useFormFields } from "../../lib/forms.js";
import { formatDate } from "../../lib/i18n.js";
import type { Contact, ContactImport, ContactList, Tag } from "../../lib/workspace.js";
import { wk } from "../../lib/workspace.js";
import { fieldErrorsOf, TagChip } from "./shared.js";

/** Conflicts that name no field, put on the field they are about. */
const CONFLICT_FIELDS = { contact_exists: "phone" };

interface AttrRow {
  key: string;
  value: string;
  /** A stable React key while the name is being typed. */
  rid: number;
}

let nextRid = 1;
const rowsOf = (attrs: Record<string, string>): AttrRow[] =>
  Object.entries(attrs).map(([key, value]) => ({ key, value, rid: nextRid++ }));

/**
 * Create or edit a contact in a drawer: phone, name, attributes (key/value rows), tags and lists.
 * The server's field errors land on their field and go away as soon as that field changes.
 */
export function ContactDrawer({
  contact,
  readOnly,
  tags,
  lists,
  onClose,
}: {
  contact: Contact | null;
  readOnly: boolean;
  tags: Tag[];
  lists: ContactList[];
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const qc = useQueryClient();
  const { values, field, errors, setErrors, clearField } = useFormFields({
    phone: contact?.phone ?? "",
    name: contact?.name ?? "",
  });
  const { phone, name } = values;
  const [attrs, setAttrs] = useState<AttrRow[]>(() => rowsOf(contact?.attributes ?? {}));
  const [tagIds, setTagIds] = useState<string[]>(contact?.tagIds ?? []);
  const [listIds, setListIds] = useState<string[]>(contact?.listIds ?? []);
  const attrError = Object.entries(errors).find(([k]) => k === "attributes" || k.startsWith("attributes."))?.[1];
  const attrsId = useId();

  const save = useMutation({
    mutationFn: () => {
      const entered = attrs.filter((a) => a.key.trim() !== "");
      const attributes: Record<string, string | null> = Object.fromEntries(entered.map((a) => [a.key.trim(), a.value]));
      if (contact) for (const k of Object.keys(contact.attributes)) if (!(k in attributes)) attributes[k] = null; // removed
      const body = {
        phone: phone.trim(),
        name: name.trim() === "" ? null : name.trim(),
        attributes,
        tagIds,
        listIds,
      };
      return contact
        ? api<Contact>(`/orgs/${orgId}/contacts/${contact.id}`, { method: "PATCH", body })
        : api<Contact>(`/orgs/${orgId}/contacts`, { method: "POST", body });
    },
    onSuccess: (c) => {
      toast(
        contact ? t("contacts.saved", { name: c.name ?? c.phone }) : t("contacts.created", { name: c.name ?? c.phone }),
      );
      void qc.invalidateQueries({ queryKey: wk.contacts(orgId) });
      void qc.invalidateQueries({ queryKey: wk.lists(orgId) });
      onClose();
    },
    onError: (e) => setErrors(fieldErrorsOf(e, CONFLICT_FIELDS)),
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const local: Record<string, string> = {};
    if (!phone.trim()) local.phone = t("validation.required");
    const keys = attrs.map((a) => a.key.trim()).filter(Boolean);
    if (new Set(keys).size !== keys.length) local.attributes = t("contacts.attrDuplicate");
    setErrors(local);
    if (!Object.keys(local).length) save.mutate();
  };
  const toggleIn = (list: string[], id: string, on: boolean) => (on ? [...list, id] : list.filter((x) => x !== id));

  return (
    <Modal
      open
      side
      onOpenChange={(o) => !o && onClose()}
      title={
        readOnly ? (contact?.name ?? contact?.phone ?? "") : contact ? t("contacts.editTitle") : t("contacts.newTitle")
      }
    >
      <form onSubmit={submit} noValidate className="space-y-5" data-testid="contact-form">
        <TextField
          label={t("contacts.phone")}
          type="tel"
          autoComplete="off"
          placeholder="+34 600 123 456"
          readOnly={readOnly}
          help={readOnly ? undefined : t("contacts.phoneHelp")}
          {...field("phone")}
        />
        <TextField label={t("contacts.name")} readOnly={readOnly} {...field("name")} />
        <fieldset aria-describedby={attrError ? `${attrsId}-error` : undefined}>
          <legend className="mb-1 text-sm font-medium text-slate-700">{t("contacts.attributes")}</legend>
          {!attrs.length ? <p className="text-sm text-slate-500">{t("contacts.noAttributes")}</p> : null}
          <div className="space-y-2">
            {attrs.map((a, i) => (
              <div key={a.rid} className="grid grid-cols-[minmax(0,2fr)_minmax(0,3fr)_auto] items-start gap-2">
                <input
                  aria-label={t("contacts.attrKey", { n: i + 1 })}
                  className="block w-full rounded-lg border border-slate-300 px-2.5 py-1.5 text-sm read-only:bg-slate-100"
                  placeholder={t("contacts.attrKeyPlaceholder")}
                  value={a.key}
                  readOnly={readOnly}
                  onChange={(e) => {
                    setAttrs((rows) => rows.map((r) => (r.rid === a.rid ? { ...r, key: e.target.value } : r)));
                    clearField("attributes");
                  }}
                />
                <input
                  aria-label={t("contacts.attrValue", { n: i + 1 })}
                  className="block w-full rounded-lg border border-slate-300 px-2.5 py-1.5 text-sm read-only:bg-slate-100"
                  placeholder={t("contacts.attrValuePlaceholder")}
                  value={a.value}
                  readOnly={readOnly}
                  onChange={(e) => {
                    setAttrs((rows) => rows.map((r) => (r.rid === a.rid ? { ...r, value: e.target.value } : r)));
                    clearField("attributes");
                  }}
                />
                {readOnly ? (
                  <span />
                ) : (
                  <Button
                    variant="ghost"
                    size="sm"
                    aria-label={t("contacts.attrRemove", { n: i + 1 })}
                    onClick={() => {
                      setAttrs((rows) => rows.filter((r) => r.rid !== a.rid));
                      clearField("attributes");
                    }}
                  >
                    <svg viewBox="0 0 20 20" className="size-4" aria-hidden="true">
                      <path d="M5 5l10 10M15 5L5 15" stroke="currentColor" strokeWidth="2" />
                    </svg>
                  </Button>
                )}
              </div>
            ))}
          </div>
          <FieldError id={`${attrsId}-error`} error={attrError} />
          {readOnly ? null : (
            <Button
              variant="secondary"
              size="sm"
              className="mt-2"
              onClick={() => setAttrs((rows) => [...rows, { key: "", value: "", rid: nextRid++ }])}
            >
              + {t("contacts.attrAdd")}
            </Button>
          )}
        </fieldset>
        <fieldset>
          <legend className="mb-2 text-sm font-medium text-slate-700">{t("contacts.tags")}</legend>
          {readOnly ? (
            <div className="flex flex-wrap gap-1">
              {tags
                .filter((x) => tagIds.includes(x.id))
                .map((x) => (
                  <TagChip key={x.id} tag={x} />
                ))}
              {!tagIds.length ? <span className="text-sm text-slate-500">—</span> : null}
            </div>
          ) : tags.length ? (
            <div className="grid max-h-48 gap-2 overflow-y-auto rounded-lg border border-slate-200 p-3 sm:grid-cols-2">
              {tags.map((x) => (
                <Checkbox
                  key={x.id}
                  checked={tagIds.includes(x.id)}
                  onCheckedChange={(on) => {
                    setTagIds((v) => toggleIn(v, x.id, on));
                    clearField("tagIds");
                  }}
                  label={<TagChip tag={x} />}
                />
              ))}
            </div>
          ) : (
            <p className="text-sm text-slate-500">{t("contacts.noTags")}</p>
          )}
          <FieldError error={errors.tagIds} />
        </fieldset>
        <fieldset>
          <legend className="mb-2 text-sm font-medium text-slate-700">{t("contacts.lists")}</legend>
          {readOnly ? (
            <p className="text-sm text-slate-700">
              {lists
                .filter((x) => listIds.includes(x.id))
                .map((x) => x.name)
                .join(", ") || "—"}
            </p>
          ) : lists.length ? (
            <div className="grid max-h-48 gap-2 overflow-y-auto rounded-lg border border-slate-200 p-3 sm:grid-cols-2">
              {lists.map((x) => (
                <Checkbox
                  key={x.id}
                  checked={listIds.includes(x.id)}
                  onCheckedChange={(on) => {
                    setListIds((v) => toggleIn(v, x.id, on));
                    clearField("listIds");
                  }}
                  label={x.name}
                />
              ))}
            </div>
          ) : (
            <p className="text-sm text-slate-500">{t("contacts.noLists")}</p>
          )}
          <FieldError error={errors.listIds} />
        </fieldset>
        {contact ? (
          <dl className="grid grid-cols-2 gap-2 text-xs text-slate-500">
            <dt>{t("contacts.colCreated")}</dt>
            <dd>{formatDate(contact.createdAt)}</dd>
            <dt>{t("contacts.waId")}</dt>
            <dd>{contact.waId ?? "—"}</dd>
            <dt>{t("contacts.optedOut")}</dt>
            <dd>{contact.optedOutAt ? formatDate(contact.optedOutAt) : t("common.no")}</dd>
          </dl>
        ) : null}
        {readOnly ? (
          <div className="flex justify-end">
            <Button variant="secondary" onClick={onClose}>
              {t("common.close")}
            </Button>
          </div>
        ) : (
          <>
            {/* Quiet when the server named the field: the message is there, and goes as the field changes. */}
            <FormError error={save.error} fieldErrors={fieldErrorsOf(save.error, CONFLICT_FIELDS)} />
            <DialogActions
              onCancel={onClose}
              submitLabel={save.isPending ? t("common.saving") : contact ? t("common.save") : t("contacts.create")}
              pending={save.isPending}
            />
          </>
        )}
      </form>
    </Modal>
  );
}

/**
 * Import a CSV: pick a file, upload it as text/csv, then follow the import (a progress bar from
 * GET /contacts/imports/:id) to its end, with the rows that failed and why.
 */
export function ImportDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const qc = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [country, setCountry] = useState("");
  const [importId, setImportId] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);

  const upload = useMutation({
    mutationFn: async () => {
      if (!file) throw new Error(t("contacts.importPickFile"));
      const text = await file.text();
      return api<{ id: string; state: string }>(`/orgs/${orgId}/contacts/import`, {
        method: "POST",
        body: text,
        query: { country: country.trim().toUpperCase() || undefined },
      });
    },
    onSuccess: (r) => setImportId(r.id),
    onError: (e) => {
      // One import at a time: follow the one already running.
      const running = e instanceof ApiError ? (e.body as { importId?: string } | null)?.importId : undefined;
      if (e instanceof ApiError && e.code === "import_in_progress" && running) setImportId(running);
    },
  });
  const progress = useQuery({
    queryKey: wk.import(orgId, importId ?? ""),
    enabled: importId !== null,
    queryFn: () => api<ContactImport>(`/orgs/${orgId}/contacts/imports/${importId}`),
    refetchInterval: (q) => {
      const s = q.state.data?.state;
      return s === "completed" || s === "failed" ? false : 500;
    },
  });
  const imp = progress.data;
  const done = imp?.state === "completed" || imp?.state === "failed";
  // Once finished, the lists behind the dialog show what the import made (new tags and lists too).
  useEffect(() => {
    if (!done) return;
    void qc.invalidateQueries({ queryKey: wk.contacts(orgId) });
    void qc.invalidateQueries({ queryKey: wk.tags(orgId) });
    void qc.invalidateQueries({ queryKey: wk.lists(orgId) });
  }, [done, orgId, qc]);
  const reset = () => {
    setFile(null);
    setCountry("");
    setImportId(null);
    upload.reset();
    if (input.current) input.current.value = "";
  };
  const pct = imp && imp.total > 0 ? Math.min(100, Math.round((imp.processed / imp.total) * 100)) : done ? 100 : 0;

  return (
    <Modal
      open={open}
      onOpenChange={(o) => {
        if (!o && (done || !importId)) reset();
        onOpenChange(o);
      }}
      title={t("contacts.importTitle")}
      description={t("contacts.importHelp")}
    >
      {!importId ? (
        <form
          noValidate
          className="space-y-4"
          onSubmit={(e) => {
            e.preventDefault();
            upload.mutate();
          }}
        >
          <div>
            <label htmlFor="contacts-csv" className="mb-1 block text-sm font-medium text-slate-700">
              {t("contacts.importWholeFile")}
            </label>
            <input
              ref={input}
              id="contacts-csv"
              type="file"
              accept=".csv,text/csv"
              className="block w-full text-sm text-slate-700 file:mr-3 file:rounded-lg file:border file:border-slate-300 file:bg-white file:px-3 file:py-1.5 file:text-sm file:font-medium"
              onChange={(e) => {
                setFile(e.target.files?.[0] ?? null);
                upload.reset();
              }}
            />
            <p className="mt-1 text-xs text-slate-500">{t("contacts.importColumns")}</p>
          </div>
          <TextField
            label={t("contacts.importCountry")}
            help={t("contacts.importCountryHelp")}
            value={country}
            maxLength={2}
            className="max-w-48"
            onChange={(e) => setCountry(e.target.value)}
          />
          <FormError error={upload.error} />
          <DialogActions
            onCancel={() => onOpenChange(false)}
            submitLabel={upload.isPending ? t("contacts.importUploading") : t("contacts.importStart")}
            pending={upload.isPending}
            disabled={!file}
          />
        </form>
      ) : (
        <div className="space-y-4" data-testid="import-progress" data-state={imp?.state ?? "queued"}>
          <div>
            <div className="mb-1 flex justify-between text-sm">
              <span className="font-medium text-slate-800">{t(`contacts.importState.${imp?.state ?? "queued"}`)}</span>
              <span className="tabular-nums text-slate-600">
                {imp ? t("contacts.importRows", { processed: imp.processed, total: imp.total }) : ""}
              </span>
            </div>
            <div
              role="progressbar"
              aria-label={t("contacts.importProgress")}
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={pct}
              className="h-2.5 overflow-hidden rounded-full bg-slate-100"
            >
              <div
                className={imp?.state === "failed" ? "h-full bg-red-500" : "h-full bg-emerald-600 transition-all"}
                style={{ width: `${pct}%` }}
              />
            </div>
          </div>
          {imp ? (
            <dl className="grid grid-cols-3 gap-2 text-center text-sm">
              {(["created", "updated", "failed"] as const).map((k) => (
                <div key={k} className="rounded-lg bg-slate-50 px-2 py-2">
                  <dt className="text-xs text-slate-500">{t(`contacts.importCount.${k}`)}</dt>
                  <dd className="text-lg font-semibold tabular-nums text-slate-900" data-testid={`import-${k}`}>
                    {imp[k]}
                  </dd>
                </div>
              ))}
            </dl>
          ) : null}
          {imp?.errors.length ? (
            <div>
              <h3 className="mb-1 text-sm font-medium text-slate-800">{t("contacts.importErrors")}</h3>
              <ul
                className="max-h-48 divide-y divide-slate-100 overflow-y-auto rounded-lg border border-slate-200 text-sm"
                data-testid="import-errors"
              >
                {imp.errors.map((er) => (
                  <li key={`${er.row}-${er.message}`} className="flex gap-3 px-3 py-1.5" data-code={er.code}>
                    <span className="shrink-0 tabular-nums text-slate-500">
                      {er.row ? t("contacts.importRow", { row: er.row }) : t("contacts.importWholeFile")}
                    </span>
                    <span className="text-slate-800">
                      {er.code === "other"
                        ? er.message
                        : t(`contacts.importError.${er.code}`, { ...er.params, defaultValue: er.message })}
                    </span>
                  </li>
                ))}
              </ul>
            </div>
          ) : null}
          {progress.error ? <FormError error={progress.error} /> : null}
          {done ? (
            <Notice tone={imp?.state === "failed" ? "warning" : "success"}>
              {imp?.state === "failed" ? t("contacts.importFailed") : t("contacts.importDone")}
            </Notice>
          ) : null}
          <div className="flex justify-end gap-2">
            {done ? (
              <Button variant="secondary" onClick={reset}>
                {t("contacts.importAnother")}
              </Button>
            ) : null}
            <Button
              onClick={() => {
                if (done) reset();
                onOpenChange(false);
              }}
            >
              {done ? t("contacts.importClose") : t("contacts.importBackground")}
            </Button>
          </div>
        </div>
      )}
    </Modal>
  );
}
