import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { QueryView } from "../../components/data.js";
import { DeleteConfirm, useDeleteRow } from "../../components/delete-confirm.js";
import { SelectField, TextField } from "../../components/fields.js";
import { Button, Card, Chip, DialogActions, FormError, Modal, Notice, PageHeader, toast } from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { api, itemsOf } from "../../lib/api.js";
import { formatDate } from "../../lib/i18n.js";
import { fieldErrorsOf } from "../contacts/shared.js";

/** A connected WhatsApp number as GET /channels answers it (secrets are never returned). */
export interface Channel {
  id: string;
  name: string;
  mode: "cloud" | "simulator";
  phoneNumberId: string;
  wabaId: string;
  displayPhoneNumber: string;
  webhookUrl: string;
  verifyToken: string;
  mpsLimit: number;
  verifiedName: string | null;
  qualityRating: string | null;
  lastTestedAt: string | null;
}

interface ChannelTest {
  ok: boolean;
  verifiedName: string | null;
  qualityRating: string | null;
  displayPhoneNumber: string | null;
  error: { code: number; title: string; details: string | null } | null;
}

const channelsKey = (orgId: string) => ["org", orgId, "channels"] as const;
const CONFLICT_FIELDS = { channel_exists: "phoneNumberId" };

/** Settings → WhatsApp: connect numbers, see what to paste into Meta's console, test, disconnect. */
export function WhatsAppPage() {
  const { t } = useTranslation();
  const { orgId, can } = useOrgContext();
  const canManage = can("settings:manage");
  const channels = useQuery({
    queryKey: channelsKey(orgId),
    queryFn: async () => itemsOf<Channel>(await api(`/orgs/${orgId}/channels`)),
  });
  const [connecting, setConnecting] = useState(false);
  const disconnect = useDeleteRow({
    path: (c: Channel) => `/orgs/${orgId}/channels/${c.id}`,
    deleted: (c) => t("whatsapp.disconnected", { name: c.name }),
    invalidate: [channelsKey(orgId)],
  });
  return (
    <div>
      <PageHeader
        title={t("whatsapp.title")}
        subtitle={canManage ? t("whatsapp.subtitle") : t("whatsapp.subtitleReadOnly")}
        actions={canManage ? <Button onClick={() => setConnecting(true)}>{t("whatsapp.connect")}</Button> : null}
      />
      <QueryView query={channels}>
        {(list) =>
          list.length ? (
            <div className="space-y-4">
              {list.map((c) => (
                <ChannelCard key={c.id} channel={c} canManage={canManage} onDisconnect={() => disconnect.ask(c)} />
              ))}
            </div>
          ) : (
            <Card>
              <p className="py-4 text-center text-sm text-slate-500" data-testid="channels-empty">
                {t("whatsapp.empty")}
              </p>
            </Card>
          )
        }
      </QueryView>
      {connecting ? <ConnectDialog onClose={() => setConnecting(false)} /> : null}
      <DeleteConfirm
        del={disconnect}
        title={t("whatsapp.disconnectTitle", { name: disconnect.row?.name ?? "" })}
        body={t("whatsapp.disconnectBody")}
        confirmLabel={t("whatsapp.disconnect")}
      />
    </div>
  );
}

function CopyField({ label, value, testId }: { label: string; value: string; testId: string }) {
  const { t } = useTranslation();
  const id = useId();
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      // No clipboard (an insecure origin): select the text so Ctrl+C copies it.
      const input = document.getElementById(id) as HTMLInputElement | null;
      input?.select();
    }
  };
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-sm font-medium text-slate-700">
        {label}
      </label>
      <div className="flex min-w-0 gap-2">
        <input
          id={id}
          readOnly
          value={value}
          data-testid={testId}
          onFocus={(e) => e.target.select()}
          className="block min-w-0 flex-1 rounded-lg border border-slate-300 bg-slate-50 px-3 py-2 font-mono text-xs text-slate-800"
        />
        <Button variant="secondary" size="sm" onClick={() => void copy()}>
          {copied ? t("common.copied") : t("common.copy")}
          <span className="sr-only">: {label}</span>
        </Button>
      </div>
      <span aria-live="polite" className="sr-only">
        {copied ? t("common.copied") : ""}
      </span>
    </div>
  );
}

function ChannelCard({
  channel: c,
  canManage,
  onDisconnect,
}: {
  channel: Channel;
  canManage: boolean;
  onDisconnect: () => void;
}) {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const qc = useQueryClient();
  const [editing, setEditing] = useState(false);
  const test = useMutation({
    mutationFn: () => api<ChannelTest>(`/orgs/${orgId}/channels/${c.id}/test`, { method: "POST", body: {} }),
    onSettled: () => void qc.invalidateQueries({ queryKey: channelsKey(orgId) }),
  });
  const result = test.data;
  return (
    <div data-testid="channel-card" data-name={c.name}>
      <Card
        title={
          <span className="flex flex-wrap items-center gap-2">
            {c.name}
            <Chip tone={c.mode === "cloud" ? "emerald" : "violet"}>{t(`whatsapp.mode.${c.mode}`)}</Chip>
          </span>
        }
        description={c.displayPhoneNumber}
        actions={
          canManage ? (
            <div className="flex flex-wrap gap-2">
              <Button variant="secondary" size="sm" onClick={() => test.mutate()} disabled={test.isPending}>
                {test.isPending ? t("whatsapp.testing") : t("whatsapp.test")}
              </Button>
              <Button variant="secondary" size="sm" onClick={() => setEditing(true)}>
                {t("common.edit")}
              </Button>
              <Button variant="ghost" size="sm" className="text-red-700" onClick={onDisconnect}>
                {t("whatsapp.disconnect")}
              </Button>
            </div>
          ) : null
        }
      >
        <div className="space-y-4">
          {result ? (
            result.ok ? (
              <Notice tone="success">
                <span data-testid="test-result">
                  {t("whatsapp.testOk", {
                    name: result.verifiedName ?? c.displayPhoneNumber,
                    quality: result.qualityRating ?? "—",
                  })}
                </span>
              </Notice>
            ) : (
              <div role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
                <span data-testid="test-result">
                  {t("whatsapp.testFailed", {
                    code: result.error?.code ?? "",
                    title: result.error?.title ?? "",
                  })}
                </span>
                {result.error?.details ? <p className="mt-1 text-xs">{result.error.details}</p> : null}
              </div>
            )
          ) : null}
          <FormError error={test.error} />
          <dl className="grid gap-x-6 gap-y-2 text-sm sm:grid-cols-2">
            {(
              [
                ["phoneNumberId", c.phoneNumberId],
                ["wabaId", c.wabaId],
                ["verifiedName", c.verifiedName ?? "—"],
                ["qualityRating", c.qualityRating ?? "—"],
                ["lastTestedAt", c.lastTestedAt ? formatDate(c.lastTestedAt) : t("common.never")],
                ["mpsLimit", String(c.mpsLimit)],
              ] as const
            ).map(([k, v]) => (
              <div key={k} className="flex min-w-0 justify-between gap-3 border-b border-slate-100 py-1">
                <dt className="text-slate-500">{t(`whatsapp.field.${k}`)}</dt>
                <dd className="truncate font-medium text-slate-800">{v}</dd>
              </div>
            ))}
          </dl>
          <div className="space-y-3 rounded-xl bg-slate-50 p-3">
            <p className="text-xs text-slate-600">{t("whatsapp.metaHelp")}</p>
            <CopyField label={t("whatsapp.webhookUrl")} value={c.webhookUrl} testId="webhook-url" />
            <CopyField label={t("whatsapp.verifyToken")} value={c.verifyToken} testId="verify-token" />
          </div>
        </div>
        {editing ? <ConnectDialog channel={c} onClose={() => setEditing(false)} /> : null}
      </Card>
    </div>
  );
}

type FormKey = "name" | "phoneNumberId" | "wabaId" | "displayPhoneNumber" | "accessToken" | "appSecret";

/** Connect a number, or (with `channel`) edit it: secrets are only sent when typed (to rotate them). */
function ConnectDialog({ channel, onClose }: { channel?: Channel; onClose: () => void }) {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const qc = useQueryClient();
  const [mode, setMode] = useState<Channel["mode"]>(channel?.mode ?? "cloud");
  const [values, setValues] = useState<Record<FormKey, string>>({
    name: channel?.name ?? "",
    phoneNumberId: channel?.phoneNumberId ?? "",
    wabaId: channel?.wabaId ?? "",
    displayPhoneNumber: channel?.displayPhoneNumber ?? "",
    accessToken: "",
    appSecret: "",
  });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: () => {
      const entries = Object.entries(values)
        .map(([k, v]) => [k, v.trim()] as const)
        // Editing sends only what changed (an empty secret keeps the stored one).
        .filter(([k, v]) => v !== "" && (!channel || v !== (channel as unknown as Record<string, unknown>)[k]));
      const body: Record<string, unknown> = Object.fromEntries(entries);
      if (channel) return api<Channel>(`/orgs/${orgId}/channels/${channel.id}`, { method: "PATCH", body });
      return api<Channel>(`/orgs/${orgId}/channels`, { method: "POST", body: { ...body, mode } });
    },
    onSuccess: (c) => {
      toast(channel ? t("whatsapp.saved", { name: c.name }) : t("whatsapp.connected", { name: c.name }));
      void qc.invalidateQueries({ queryKey: channelsKey(orgId) });
      onClose();
    },
    onError: (e) => setErrors(fieldErrorsOf(e, CONFLICT_FIELDS)),
  });
  const field = (key: FormKey) => ({
    value: values[key],
    error: errors[key],
    onChange: (e: { target: { value: string } }) => {
      setValues((v) => ({ ...v, [key]: e.target.value }));
      setErrors(({ [key]: _x, ...rest }) => rest);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const local: Record<string, string> = {};
    const required: FormKey[] = channel
      ? ["name", "displayPhoneNumber"]
      : mode === "cloud"
        ? ["name", "displayPhoneNumber", "phoneNumberId", "wabaId", "accessToken", "appSecret"]
        : ["name", "displayPhoneNumber"];
    for (const k of required) if (!values[k].trim()) local[k] = t("validation.required");
    setErrors(local);
    if (!Object.keys(local).length) save.mutate();
  };
  const cloud = mode === "cloud";
  return (
    <Modal
      open
      onOpenChange={(o) => !o && onClose()}
      title={channel ? t("whatsapp.editTitle") : t("whatsapp.connectTitle")}
      description={channel ? undefined : t("whatsapp.connectHelp")}
    >
      <form onSubmit={submit} noValidate className="space-y-4">
        <TextField label={t("whatsapp.field.name")} maxLength={80} {...field("name")} />
        {channel ? null : (
          <SelectField
            label={t("whatsapp.field.mode")}
            value={mode}
            onChange={(e) => setMode(e.target.value as Channel["mode"])}
            help={t(`whatsapp.modeHelp.${mode}`)}
          >
            <option value="cloud">{t("whatsapp.mode.cloud")}</option>
            <option value="simulator">{t("whatsapp.mode.simulator")}</option>
          </SelectField>
        )}
        <TextField
          label={t("whatsapp.field.displayPhoneNumber")}
          type="tel"
          placeholder="+1 555 010 0000"
          {...field("displayPhoneNumber")}
        />
        {cloud ? (
          <>
            <div className="grid gap-4 sm:grid-cols-2">
              <TextField label={t("whatsapp.field.phoneNumberId")} inputMode="numeric" {...field("phoneNumberId")} />
              <TextField label={t("whatsapp.field.wabaId")} inputMode="numeric" {...field("wabaId")} />
            </div>
            <TextField
              label={t("whatsapp.field.accessToken")}
              type="password"
              autoComplete="off"
              help={channel ? t("whatsapp.secretKeep") : t("whatsapp.secretHelp")}
              {...field("accessToken")}
            />
            <TextField
              label={t("whatsapp.field.appSecret")}
              type="password"
              autoComplete="off"
              help={channel ? t("whatsapp.secretKeep") : t("whatsapp.secretHelp")}
              {...field("appSecret")}
            />
          </>
        ) : null}
        <FormError error={save.error} fieldErrors={fieldErrorsOf(save.error, CONFLICT_FIELDS)} />
        <DialogActions
          onCancel={onClose}
          submitLabel={save.isPending ? t("common.saving") : channel ? t("common.save") : t("whatsapp.connect")}
          pending={save.isPending}
        />
      </form>
    </Modal>
  );
}
