import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";
import { useLocation, useNavigate } from "react-router";
import { z } from "zod";
import { TextField } from "../components/fields.js";
import { Button, Card, FormError, Notice } from "../components/ui.js";
import { api } from "../lib/api.js";
import { useFieldErrors, validate } from "../lib/forms.js";
import { qk } from "../lib/session.js";
import type { Org } from "../lib/types.js";

const createOrgBody = z.object({ name: z.string().trim().min(1).max(100) });

export function CreateOrgPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [name, setName] = useState("");
  // Sent here because the organization last used is gone (HomeRedirect): say why.
  const lostOrg = (useLocation().state as { lostOrg?: string } | null)?.lostOrg;
  const fe = useFieldErrors();
  const m = useMutation({
    mutationFn: (body: { name: string }) => api<Org>("/orgs", { method: "POST", body }),
    onSuccess: async (org) => {
      await qc.invalidateQueries({ queryKey: qk.orgs });
      navigate(`/orgs/${org.id}/settings/team`);
    },
    onError: (e) => fe.fromServer(e),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = validate(createOrgBody, { name });
    fe.setErrors(v.errors);
    if (v.data) m.mutate(v.data);
  };
  return (
    <div className="mx-auto max-w-lg py-6">
      {lostOrg ? (
        <div className="mb-4" data-testid="lost-access">
          <Notice tone="warning">{t("orgs.lostAccess", { org: lostOrg })}</Notice>
        </div>
      ) : null}
      <Card titleLevel={1} title={t("orgs.createTitle")} description={t("orgs.createSubtitle")}>
        <form {...fe.formProps} onSubmit={submit} noValidate className="space-y-4">
          <TextField
            label={t("orgs.name")}
            name="name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            error={fe.errors.name}
            autoFocus
          />
          <FormError error={m.error} fieldErrors={fe.errors} />
          <Button type="submit" disabled={m.isPending}>
            {m.isPending ? t("orgs.creating") : t("orgs.create")}
          </Button>
        </form>
      </Card>
    </div>
  );
}
