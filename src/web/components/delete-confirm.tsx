import { type QueryKey, type UseMutationResult, useMutation, useQueryClient } from "@tanstack/react-query";
import { type ReactNode, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../lib/api.js";
import { Confirm, toast } from "./ui.js";

export interface DeleteRow<T> {
  /** The row the dialog asks about; null while it is closed. */
  row: T | null;
  ask: (row: T) => void;
  close: () => void;
  remove: UseMutationResult<unknown, Error, T>;
}

/**
 * Deleting one row of a list behind a confirmation: `ask(row)` opens the dialog; a success closes
 * it, says `deleted(row)` (nothing when absent: a page that goes elsewhere), reads again the
 * queries under `invalidate` that showed the row, then calls `onDeleted(row)` for what else the
 * page keeps about it (a selection, the page to go to).
 */
export function useDeleteRow<T>({
  path,
  query,
  deleted,
  invalidate,
  onDeleted,
}: {
  path: (row: T) => string;
  /** Query parameters of the DELETE (a role's replacement). */
  query?: (row: T) => Record<string, string | undefined>;
  deleted?: (row: T) => string;
  invalidate: QueryKey[];
  onDeleted?: (row: T) => void;
}): DeleteRow<T> {
  const qc = useQueryClient();
  const [row, setRow] = useState<T | null>(null);
  const close = () => setRow(null);
  const remove = useMutation({
    mutationFn: (x: T) => api(path(x), { method: "DELETE", ...(query ? { query: query(x) } : {}) }),
    onSuccess: (_r, x) => {
      if (deleted) toast(deleted(x));
      close();
      for (const queryKey of invalidate) void qc.invalidateQueries({ queryKey });
      onDeleted?.(x);
    },
  });
  return { row, ask: setRow, close, remove };
}

/**
 * The dialog of a `useDeleteRow`, its button "Delete" unless `confirmLabel` says otherwise ("Remove
 * member", "Disconnect"). Closing it forgets the failure too, so the next row asks afresh.
 */
export function DeleteConfirm<T>({
  del,
  title,
  body,
  confirmLabel,
  blocked,
  children,
}: {
  del: DeleteRow<T>;
  title: string;
  body: ReactNode;
  confirmLabel?: string;
  /** The confirm button waits for a choice in `children` (a role's replacement). */
  blocked?: boolean;
  children?: ReactNode;
}) {
  const { t } = useTranslation();
  const { row, close, remove } = del;
  return (
    <Confirm
      open={row !== null}
      onOpenChange={(o) => {
        if (!o) {
          close();
          remove.reset();
        }
      }}
      title={title}
      body={body}
      confirmLabel={confirmLabel ?? t("common.delete")}
      onConfirm={() => {
        if (row !== null) remove.mutate(row);
      }}
      pending={remove.isPending || blocked === true}
      error={remove.error}
    >
      {children}
    </Confirm>
  );
}
